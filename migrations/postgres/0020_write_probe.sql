-- One row that intake rewrites, and commits, to learn whether the store takes writes at
-- all (a read-only file, a locked or unreachable database) before it gives up a message
-- whose every try failed for a reason that may pass: a fault of the machine must not
-- send mail to the quarantine (issue 21).
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);
INSERT INTO write_probe (id, at) VALUES (1, 0);
