-- Retention (SPEC §12): each prune batch finds its oldest rows through an
-- index, so that a batch costs the same with a million rows to go as
-- with ten. The SQLite twin has the same indexes.

-- Finished deliveries by the time they finished; the queue's index,
-- deliveries_due, holds the others.
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE status <> 'in_progress';
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
-- An event is kept while a live key names it; without this each event
-- pruned would scan the keys.
CREATE INDEX idempotency_keys_event_id ON idempotency_keys (event_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Pruning deletes in steady small batches. At the default scale factor
-- (20% of the table dead before a vacuum) a large deliveries or attempts
-- table would carry a fifth of itself as dead rows; 2% keeps the space
-- that the next batches of inserts reuse small and the tables level off.
ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);
ALTER TABLE attempts SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);
ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);
ALTER TABLE idempotency_keys SET (autovacuum_vacuum_scale_factor = 0.05);
ALTER TABLE audit_log SET (autovacuum_vacuum_scale_factor = 0.05);
