package hookshot

import (
	"context"
	"time"
)

// Pruner is implemented by stores that can delete what retention (SPEC
// §12) no longer keeps. Both SQL stores are Pruners, and several processes
// may prune one PostgreSQL database at once: each batch takes rows the
// others have not locked.
type Pruner interface {
	// PruneBatch deletes, each in a short transaction of its own, at most
	// p.Limit rows of each kind that p selects (attempts go with their
	// deliveries, however many they are), and returns how many it
	// deleted. A caller repeats it until a batch comes back with fewer
	// than p.Limit of every kind; writers wait behind one batch at most.
	// Deliveries in progress are never deleted.
	PruneBatch(ctx context.Context, p Prune) (PruneCounts, error)
	// CountPrunable counts what repeated PruneBatch calls with p would
	// delete now, deleting nothing.
	CountPrunable(ctx context.Context, p Prune) (PruneCounts, error)
	// ReleaseAllLeases hands every delivery's lease back, due at the
	// earlier of now and when it last changed, and returns how many it
	// released. Only a process that knows it is the only one using the
	// database (SQLite's serve, holding the file's lock) may call it:
	// the leases it finds are those of a process that died.
	ReleaseAllLeases(ctx context.Context, now time.Time) (int64, error)
}

// Prune says what a prune deletes; a zero time selects nothing of its kind.
type Prune struct {
	// FinishedBefore selects deliveries that succeeded or failed before
	// it (their updated_at), with their attempts, and events created
	// before it that no delivery and no live idempotency key still
	// names. A webhook's current validation delivery is kept, so that
	// its validation state keeps pointing at a delivery that exists.
	FinishedBefore time.Time
	// KeysBefore selects idempotency keys created before it: their window
	// has passed.
	KeysBefore time.Time
	// AuditBefore selects audit entries made before it.
	AuditBefore time.Time
	// Limit is the most rows of each kind one PruneBatch deletes.
	Limit int
}

// PruneCounts are rows deleted (or that would be), by table.
type PruneCounts struct {
	Deliveries      int64
	Attempts        int64
	Events          int64
	IdempotencyKeys int64
	AuditEntries    int64
}

// Add adds o to c.
func (c *PruneCounts) Add(o PruneCounts) {
	c.Deliveries += o.Deliveries
	c.Attempts += o.Attempts
	c.Events += o.Events
	c.IdempotencyKeys += o.IdempotencyKeys
	c.AuditEntries += o.AuditEntries
}

// Tables lists the counts under their tables' names, in the order a prune
// deletes them.
func (c PruneCounts) Tables() []TableCount {
	return []TableCount{
		{"idempotency_keys", c.IdempotencyKeys},
		{"attempts", c.Attempts},
		{"deliveries", c.Deliveries},
		{"events", c.Events},
		{"audit_log", c.AuditEntries},
	}
}

// TableCount is a number of rows of one table.
type TableCount struct {
	Table string
	Rows  int64
}

// Reclaimer is implemented by stores that must be told to make the space
// of deleted rows reusable. PostgreSQL's autovacuum does it by itself;
// where an operator has turned autovacuum off, the PostgreSQL store
// vacuums the tables a pass pruned. SQLite reuses freed pages by itself.
type Reclaimer interface {
	// Reclaim makes the space of the rows c counts reusable, when the
	// database will not do it by itself.
	Reclaim(ctx context.Context, c PruneCounts) error
}
