package storetest

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var backlogTests = []test{
	{"Empty", testBacklogEmpty},
	{"Counts", testBacklogCounts},
}

func (f *fixture) backlog(now time.Time) hookshot.Backlog {
	f.t.Helper()
	r, ok := f.store.(hookshot.BacklogReader)
	if !ok {
		f.t.Fatalf("the store %T is not a hookshot.BacklogReader", f.store)
	}
	b, err := r.Backlog(f.ctx, now)
	if err != nil {
		f.t.Fatalf("Backlog: %v", err)
	}
	return b
}

// An empty queue has nothing in progress, nothing due and no oldest.
func testBacklogEmpty(t *testing.T, f *fixture) {
	if b := f.backlog(f.now); b != (hookshot.Backlog{}) {
		t.Fatalf("Backlog of an empty store: %+v, want zeros", b)
	}
}

// Backlog counts every delivery in progress, as due those due at now
// (one due exactly at now is due) and not leased, and names the earliest
// due time; finished deliveries count nowhere.
func testBacklogCounts(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	oldest := f.enqueue(w, f.at(-time.Hour))
	f.enqueue(w, f.now)
	f.enqueue(w, f.at(time.Minute)) // a retry later
	for _, s := range []hookshot.DeliveryStatus{hookshot.DeliverySucceeded, hookshot.DeliveryFailed} {
		f.enqueue(w, f.at(-2*time.Hour), func(d *hookshot.Delivery) { d.Status = s })
	}
	b := f.backlog(f.now)
	want := hookshot.Backlog{InProgress: 3, Due: 2, OldestDue: oldest.NextAttemptAt}
	if b.InProgress != want.InProgress || b.Due != want.Due || !b.OldestDue.Equal(want.OldestDue) {
		t.Fatalf("Backlog: %+v, want %+v", b, want)
	}

	// A claimed delivery is being attempted: in progress, not due.
	jobs := f.claim("engine", f.now, 1)
	if len(jobs) != 1 || jobs[0].Delivery.ID != oldest.ID {
		t.Fatalf("claimed %d jobs, want the oldest", len(jobs))
	}
	b = f.backlog(f.now)
	if b.InProgress != 3 || b.Due != 1 || !b.OldestDue.Equal(f.now) {
		t.Fatalf("Backlog after a claim: %+v, want 3 in progress, 1 due since %s", b, f.now)
	}

	// Once it succeeds it is no longer in progress.
	f.record("engine", f.result(jobs[0], hookshot.DeliverySucceeded, f.now))
	b = f.backlog(f.at(2 * time.Minute))
	if b.InProgress != 2 || b.Due != 2 || !b.OldestDue.Equal(f.now) {
		t.Fatalf("Backlog after recording: %+v, want 2 in progress, 2 due since %s", b, f.now)
	}
}
