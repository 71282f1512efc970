-- Messages already turned into tickets whose acknowledgement on the server (the move, copy,
-- flag or delete the mailbox's `processed` asks for) was refused or cut off: the cursor has
-- passed them, so they are never fetched again, and the acknowledgement is tried again,
-- with a growing pause, until the server takes it. `copied` records that a copy into the
-- processed folder was made already, so that a retry only deletes.
CREATE TABLE mailbox_pending_acks (
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    copied        BIGINT NOT NULL DEFAULT 0,
    since         BIGINT NOT NULL,
    PRIMARY KEY (mailbox, uid_validity, uid)
);

-- What is wrong with a mailbox now, for `ticketgate mailboxes`: one row per area
-- (`connection`, `folder`, `acknowledge`), written when a problem starts or changes,
-- removed when it ends.
CREATE TABLE mailbox_problems (
    mailbox     TEXT NOT NULL,
    area        TEXT NOT NULL,
    message     TEXT NOT NULL,
    since       BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (mailbox, area)
);
