-- Several instances on one database. A lease gives one instance a piece of work (reading a
-- mailbox) until it expires; its holder renews it while alive. The token grows at every
-- change of holder, so a holder that hung and came back can tell that it lost the lease.
-- Times are Unix milliseconds read from the database's clock, the one clock all instances
-- share.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,        -- mailbox:NAME
    holder      TEXT NOT NULL,           -- instance name and a per-process nonce
    token       BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- A scheduled run claims its tick (the schedule's time it answers): a second instance
-- firing on the same tick finds it taken and does nothing. Runs started by hand have none.
ALTER TABLE job_runs ADD COLUMN tick_at BIGINT;
CREATE UNIQUE INDEX job_runs_tick ON job_runs(job, tick_at);

-- Which process claimed a notification being sent: when that process is found dead (it
-- restarted), its claims are released at once instead of after the claim's lease.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- What every instance on this database must agree on (the fingerprint of the link key):
-- the first to start records it, a later one that differs refuses to start.
CREATE TABLE shared_facts (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
