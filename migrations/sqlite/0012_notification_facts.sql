-- A notification states the facts of its event as they were when it was queued, not as
-- the ticket is when the outbox worker sends it: a quick second change must not rewrite
-- the first one's mail. Copied from the ticket in the statement that queues the row; NULL
-- on rows queued before this migration (they are written from the ticket as it is).
ALTER TABLE outbox ADD COLUMN ticket_status TEXT;
ALTER TABLE outbox ADD COLUMN ticket_title TEXT;
ALTER TABLE outbox ADD COLUMN ticket_priority TEXT;
ALTER TABLE outbox ADD COLUMN ticket_resolved_at BIGINT;
-- The recipient's display name as their own mail showed it (the requester's, or an
-- observer's below), so that an observer is greeted by name too.
ALTER TABLE outbox ADD COLUMN recipient_name TEXT;
-- An observer's display name, from the header that named them.
ALTER TABLE observers ADD COLUMN name TEXT;
