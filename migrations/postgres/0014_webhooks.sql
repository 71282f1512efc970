-- Webhooks go through the outbox beside mail: a row says which channel it leaves by, and
-- for a webhook the recipient is the webhook's name. A quarantined mail has no ticket, so
-- its webhook rows have none either.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE outbox ALTER COLUMN ticket_id DROP NOT NULL;
