package hookshot

import (
	"context"
	"time"
)

// Backlog is the state of the delivery queue at one moment, for the
// operator's metrics (SPEC §18).
type Backlog struct {
	// InProgress counts deliveries in progress: due, waiting for a retry,
	// or being attempted.
	InProgress int64
	// Due counts deliveries in progress that are due and not leased to a
	// process: the work no process has picked up yet.
	Due int64
	// OldestDue is when the longest-waiting due delivery became due; zero
	// when none is due.
	OldestDue time.Time
}

// BacklogReader reads the delivery queue's backlog. Both stores are one.
type BacklogReader interface {
	// Backlog counts the queue at now. It fails only when the database
	// does.
	Backlog(ctx context.Context, now time.Time) (Backlog, error)
}
