-- A weekly list of their open tickets, for the contacts who ask for it (issue 22): 'weekly'
-- or NULL (none), and the ISO week (2026-W49) it was last queued for, which the job
-- sets in the statement that queues it so that no week is sent twice, whatever runs it.
ALTER TABLE contacts ADD COLUMN digest TEXT;
ALTER TABLE contacts ADD COLUMN digest_week TEXT;
