// Package clock is the one source of the current time for the parts of
// Hookshot that store or compare times, so tests can set it.
//
// Times are in UTC and truncated to the microsecond, as both stores keep
// them: a time read back from the database equals the one written.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time, in UTC, truncated to the microsecond.
type Clock interface {
	Now() time.Time
}

// System is the machine's clock.
type System struct{}

// Now returns the machine's current time.
func (System) Now() time.Time { return normal(time.Now()) }

// Fake is a clock that moves only when told to, for tests. It is safe for
// concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a clock that reads t until it is set or advanced.
func NewFake(t time.Time) *Fake { return &Fake{now: normal(t)} }

// Now returns the time the clock was last set to.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set makes the clock read t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = normal(t)
}

// Advance moves the clock on by d (back, when d is negative) and returns
// the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = normal(f.now.Add(d))
	return f.now
}

// normal drops what the stores do not keep: the zone, the monotonic
// reading and anything finer than a microsecond.
func normal(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
