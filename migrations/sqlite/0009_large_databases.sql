-- Reading a large database without reading all of it (BENCHMARKS.md, a million tickets):
-- `tickets list` without a status, most recently updated first, walks this index and stops
-- at the end of its page, instead of reading and sorting every ticket.
CREATE INDEX tickets_updated ON tickets(updated_at, id);
-- The purge asks, for each old raw mail it deletes, whether a later article still names
-- the same file. Without this index each question read every article received since the
-- cutoff: 1.8 s per mail on a million tickets, some five hours for one run's 10,000.
CREATE INDEX articles_raw_ref ON articles(raw_ref) WHERE raw_ref IS NOT NULL;
