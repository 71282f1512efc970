-- Where each IMAP mailbox is: the folder's UIDVALIDITY and the highest UID handled, so a
-- restart resumes there and a UIDVALIDITY change re-reads the folder.
CREATE TABLE mailbox_cursors (
    mailbox       TEXT PRIMARY KEY,
    uid_validity  BIGINT NOT NULL,
    last_uid      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
