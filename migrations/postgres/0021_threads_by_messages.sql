-- A reply threads to a customer's earlier mail through that mail's row in `messages`
-- (its Message-ID is indexed there already), and our notifications carry their ticket in
-- their signed Message-ID: `thread_refs` held the same Message-IDs a second time, one row
-- and one index entry for every mail and every notification, and its notification rows
-- were never read. Every customer mail row it had is in `messages` with the same ticket
-- and time, written in the same transaction.
DROP TABLE thread_refs;
