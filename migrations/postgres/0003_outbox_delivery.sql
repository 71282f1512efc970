-- Delivery state of notifications: a lease so that a worker that dies mid-send gives its
-- row back, the Message-ID sent (replies thread by it), and when it went out.
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
ALTER TABLE outbox ADD COLUMN sent_at BIGINT;
