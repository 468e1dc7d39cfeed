-- The index of a webhook's deliveries (0001_init) keyed by webhook_id and
-- created_at alone, ascending. Every publish adds an entry to it per
-- webhook, each at a place of its own in the index, and every commit then
-- writes each of those pages again, whole, to the WAL: at a steady load of
-- ten webhooks this index was 40% of the pages a commit wrote (16 of 40;
-- BenchmarkWritePath/publishers=1). Without the 36 bytes of the id an entry
-- is a third as long, so its pages fill, and split, three times less
-- often; ten pages a commit is what remains, one per webhook. The listing
-- still reads a webhook's deliveries newest first along it, and orders the
-- few created in the same microsecond by id as it goes; the cursor's row
-- value, (created_at, id) < (?, ?), still seeks on created_at.
--
-- The PostgreSQL twin keeps id in its index (its planner seeks on a row
-- value only along the index's own columns) and has an empty 0013.
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);
