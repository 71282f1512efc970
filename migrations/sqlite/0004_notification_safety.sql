-- Loop safety and contact preferences. An outbox row can now be held back by the governor
-- ('held': limits, undeliverable address) or skipped ('skipped': the recipient's
-- preferences), with the reason kept; its context carries what the event needs (previous
-- status, the ticket a refused mail was meant for).
ALTER TABLE outbox ADD COLUMN context TEXT;
ALTER TABLE outbox ADD COLUMN held_reason TEXT;
CREATE INDEX outbox_recipient_sent ON outbox(lower(recipient), sent_at);
CREATE INDEX outbox_ticket_sent ON outbox(ticket_id, sent_at);
CREATE INDEX outbox_message_id ON outbox(message_id);

-- What each person wants to receive, and whether their address currently bounces.
CREATE TABLE contacts (
    email                   TEXT PRIMARY KEY,    -- lower-cased key
    language                TEXT,                -- NULL: the ticket's language
    opening_closing         BIGINT NOT NULL DEFAULT 1,
    processing              BIGINT NOT NULL DEFAULT 1,
    messages                BIGINT NOT NULL DEFAULT 1,
    observer_every_update   BIGINT NOT NULL DEFAULT 1,
    undeliverable_until     BIGINT,
    undeliverable_reason    TEXT,
    updated_at              BIGINT NOT NULL
);
