-- Ticket lifecycle: when a ticket entered its status (reminders count from it), the
-- reminders sent (one per ticket, kind and cycle, so none is sent twice), the scheduler's
-- runs, and the full text of a mail whose comment keeps only the new reply.
ALTER TABLE tickets ADD COLUMN status_since BIGINT;
UPDATE tickets SET status_since = updated_at;
CREATE INDEX tickets_status_since ON tickets(status, status_since);
CREATE INDEX tickets_resolved ON tickets(status, resolved_at);

ALTER TABLE articles ADD COLUMN body_original TEXT;
CREATE INDEX articles_created ON articles(created_at);

-- cycle_at: the status_since of the wait being reminded of; a new wait is a new cycle.
CREATE TABLE ticket_reminders (
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    kind        TEXT NOT NULL,
    cycle_at    BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, kind, cycle_at)
);

CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job         TEXT NOT NULL,
    started_by  TEXT NOT NULL,           -- schedule | start | manual
    as_of       BIGINT NOT NULL,         -- the time the run acted as of
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    acted       BIGINT NOT NULL DEFAULT 0,
    summary     TEXT,
    error       TEXT
);
CREATE INDEX job_runs_job ON job_runs(job, id);
