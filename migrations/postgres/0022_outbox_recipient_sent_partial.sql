-- What was sent to an address is what the loop governor counts (`sent_at >= …`), and a
-- notification waiting to go has no `sent_at`: the index keeps only the rows sent. Each
-- notification queued put an entry at its recipient's place in the index, then moved it
-- when it was sent; on a database of a million tickets those places are spread over
-- thousands of pages, and a batch of new mail wrote a page of this index for nearly every
-- notification it queued (3,852 of 16,004 pages written by 1,280 mails, against 151 of
-- 10,221 on an empty database: BENCHMARKS.md, target 2). A query's `sent_at >= …` implies
-- `sent_at IS NOT NULL`, so both databases still read this index for the counts.
DROP INDEX outbox_recipient_sent;
CREATE INDEX outbox_recipient_sent ON outbox (lower(recipient), sent_at) WHERE sent_at IS NOT NULL;
