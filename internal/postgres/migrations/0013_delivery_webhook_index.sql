-- Nothing: the SQLite twin narrows its index of a webhook's deliveries to
-- (webhook_id, created_at), because SQLite writes each page a commit
-- touches whole to its WAL. PostgreSQL keeps (webhook_id, created_at DESC,
-- id DESC): its planner seeks on the listing cursor's row value,
-- (created_at, id) < ($1, $2), only along an index that holds both columns.
SELECT 1;
