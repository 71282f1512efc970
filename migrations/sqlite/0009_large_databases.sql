-- Reading a large database without reading all of it (BENCHMARKS.md, a million tickets):
-- `tickets list` without a status, most recently updated first, walks this index and stops
-- at the end of its page, instead of reading and sorting every ticket.
CREATE INDEX tickets_updated ON tickets(updated_at, id);
