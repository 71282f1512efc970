-- Text that is sorted or case-folded behaves as on SQLite, whatever the server's locale:
-- compared byte by byte (observers are listed in the same order), and lower() folds ASCII
-- letters only, as EmailAddress::key does (under a UTF-8 locale it also folds `Å` to `å`,
-- making two keys one). The index on lower(recipient) is rebuilt with the column.
ALTER TABLE observers ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE outbox ALTER COLUMN recipient TYPE TEXT COLLATE "C";
