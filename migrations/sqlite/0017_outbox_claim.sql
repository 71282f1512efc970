-- The outbox's claim reads the next due row of one channel in this order: one row from
-- the index, not a sort of every due row (which made a long queue drain in N² time).
CREATE INDEX outbox_claim ON outbox (channel, status, next_attempt_at, id);
