-- Retention (SPEC §12): each prune batch finds its oldest rows through an
-- index, so that a batch costs the same with a million rows to go as
-- with ten. The PostgreSQL twin has the same indexes.

-- Finished deliveries by the time they finished; the queue's index,
-- deliveries_due, holds the others.
CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE status <> 'in_progress';
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
-- An event is kept while a live key names it; without this each event
-- pruned would scan the keys.
CREATE INDEX idempotency_keys_event_id ON idempotency_keys (event_id);
CREATE INDEX audit_log_at ON audit_log (at);
