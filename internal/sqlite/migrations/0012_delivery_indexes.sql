-- One index fewer on deliveries, the queue, whose every row is inserted,
-- leased and recorded: on PostgreSQL each of those writes a new entry in
-- every index, and on both engines each insert writes one per index. The
-- PostgreSQL twin makes the same change.
--
-- The unique index of one delivery per event and webhook (0005_health)
-- leads with event_id instead of webhook_id, and so also serves what
-- deliveries_event_id (0001_init) was for: the deliveries of an event (an
-- idempotent replay, the events list) and the check that no delivery still
-- refers to an event before pruning it. Its other uses give both columns.
-- The new index is built before the old ones go, so that uniqueness holds
-- throughout.
CREATE UNIQUE INDEX deliveries_event_webhook ON deliveries (event_id, webhook_id) WHERE event_id IS NOT NULL;
DROP INDEX deliveries_webhook_event;
DROP INDEX deliveries_event_id;
