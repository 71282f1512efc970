-- Webhooks go through the outbox beside mail: a row says which channel it leaves by, and
-- for a webhook the recipient is the webhook's name. A quarantined mail has no ticket, so
-- its webhook rows have none either.
--
-- SQLite cannot drop a NOT NULL: the table is rebuilt with the same ids, and its
-- AUTOINCREMENT counter carried over, so that an id (and the Message-ID made from it) is
-- never given twice, even when the newest rows were deleted.
CREATE TABLE outbox_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id          BIGINT REFERENCES tickets(id),
    article_id         BIGINT REFERENCES articles(id),
    event              TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending',
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    lease_until        BIGINT,
    message_id         TEXT,
    sent_at            BIGINT,
    context            TEXT,
    held_reason        TEXT,
    claimed_by         TEXT,
    ticket_status      TEXT,
    ticket_title       TEXT,
    ticket_priority    TEXT,
    ticket_resolved_at BIGINT,
    recipient_name     TEXT,
    channel            TEXT NOT NULL DEFAULT 'email'
);
INSERT INTO outbox_new (id, ticket_id, article_id, event, recipient, status, attempts,
    next_attempt_at, last_error, created_at, lease_until, message_id, sent_at, context,
    held_reason, claimed_by, ticket_status, ticket_title, ticket_priority,
    ticket_resolved_at, recipient_name)
SELECT id, ticket_id, article_id, event, recipient, status, attempts,
    next_attempt_at, last_error, created_at, lease_until, message_id, sent_at, context,
    held_reason, claimed_by, ticket_status, ticket_title, ticket_priority,
    ticket_resolved_at, recipient_name
FROM outbox;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'outbox_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_new');
UPDATE sqlite_sequence SET seq = max(
    seq,
    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),
    COALESCE((SELECT MAX(id) FROM outbox_new), 0)
) WHERE name = 'outbox_new';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_recipient_sent ON outbox(lower(recipient), sent_at);
CREATE INDEX outbox_ticket_sent ON outbox(ticket_id, sent_at);
CREATE INDEX outbox_message_id ON outbox(message_id);
