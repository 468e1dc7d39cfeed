-- SQLite's 0014 adds the webhook to the queue's index, so that its claim
-- skips the deliveries of full webhooks by reading the index alone.
-- PostgreSQL checks a plain index scan's other conditions on the row
-- itself, and its claim locks each row it takes (FOR UPDATE SKIP LOCKED)
-- whatever the index holds, so nothing changes here; the file keeps the two
-- engines' migration numbers in step.
SELECT 1;
