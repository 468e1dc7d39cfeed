-- The queue's index carries the webhook of each due delivery, so that a
-- claim passes over the deliveries of the webhooks it skips (those with no
-- room in this process, the disabled ones, the relays) by reading the
-- index alone. With only the due time in the index, every entry it passed
-- cost a seek into the table to read webhook_id: with a backlog, when most
-- webhooks were full, a claim read rows of ten or more deliveries for each
-- one it leased, and claiming took half of serve's CPU. The entries stay
-- in the same order and on as many pages (a webhook id is a few bytes), so
-- inserts and leases touch no more pages than before.
--
-- PostgreSQL checks a plain index scan's other conditions on the row
-- itself, and its claim locks each row it takes (FOR UPDATE SKIP LOCKED)
-- whatever the index holds, so its twin of this migration changes nothing.
CREATE INDEX deliveries_due_webhook ON deliveries (next_attempt_at, webhook_id) WHERE status = 'in_progress';
DROP INDEX deliveries_due;
