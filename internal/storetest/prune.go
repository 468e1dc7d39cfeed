package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var pruneTests = []test{
	{"WhatGoesAndWhatStays", testPruneSelection},
	{"AttemptsGoWithTheirDelivery", testPruneAttempts},
	{"BatchLimit", testPruneBatchLimit},
	{"IdempotencyWindow", testPruneIdempotencyWindow},
	{"CurrentValidationStays", testPruneCurrentValidation},
	{"AuditEntries", testPruneAudit},
	{"ConcurrentPruners", testConcurrentPruners},
	{"ReleaseAllLeases", testReleaseAllLeases},
}

// pruner is the store as a hookshot.Pruner, which both SQL stores are.
func (f *fixture) pruner() hookshot.Pruner {
	f.t.Helper()
	p, ok := f.store.(hookshot.Pruner)
	if !ok {
		f.t.Fatalf("%T is not a hookshot.Pruner", f.store)
	}
	return p
}

// pruneAll runs batches of p until one comes back short of p.Limit in
// every table, as the service's pruner does, and returns the sum.
func (f *fixture) pruneAll(p hookshot.Prune) hookshot.PruneCounts {
	f.t.Helper()
	var total hookshot.PruneCounts
	for range 1000 {
		c, err := f.pruner().PruneBatch(f.ctx, p)
		if err != nil {
			f.t.Fatalf("PruneBatch: %v", err)
		}
		total.Add(c)
		if c.Deliveries < int64(p.Limit) && c.Events < int64(p.Limit) && c.IdempotencyKeys < int64(p.Limit) && c.AuditEntries < int64(p.Limit) {
			return total
		}
	}
	f.t.Fatal("PruneBatch never came back short of its limit")
	return total
}

func (f *fixture) countPrunable(p hookshot.Prune) hookshot.PruneCounts {
	f.t.Helper()
	c, err := f.pruner().CountPrunable(f.ctx, p)
	if err != nil {
		f.t.Fatalf("CountPrunable: %v", err)
	}
	return c
}

func checkCounts(t testing.TB, what string, got, want hookshot.PruneCounts) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// finished stores a delivery of a new event to w that finished with
// status at the time finished, the event and delivery created at created.
func (f *fixture) finished(w *hookshot.Webhook, status hookshot.DeliveryStatus, created, finished time.Time) *hookshot.Delivery {
	f.t.Helper()
	return f.enqueue(w, created, func(d *hookshot.Delivery) {
		d.Status, d.CreatedAt, d.UpdatedAt = status, created, finished
	})
}

// gone fails unless d reads as not found; kept fails unless it reads.
func (f *fixture) gone(d *hookshot.Delivery) {
	f.t.Helper()
	if _, _, err := f.store.Delivery(f.ctx, d.WebhookID, d.ID); !errors.Is(err, hookshot.ErrNotFound) {
		f.t.Errorf("delivery %s after pruning: err = %v, want ErrNotFound", d.ID, err)
	}
}

func (f *fixture) kept(d *hookshot.Delivery) {
	f.t.Helper()
	if _, _, err := f.store.Delivery(f.ctx, d.WebhookID, d.ID); err != nil {
		f.t.Errorf("delivery %s after pruning: %v, want it kept", d.ID, err)
	}
}

// Finished deliveries older than the cutoff go with their events; one
// finished since stays and keeps its (old) event, whose payload its
// attempts show; one in progress stays however old, and keeps its event.
// An old event nothing was delivered for goes; a new one stays.
// CountPrunable counts beforehand exactly what goes, deleting nothing.
func testPruneSelection(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	old := f.at(-48 * time.Hour)
	succeeded := f.finished(w, hookshot.DeliverySucceeded, old, old)
	failed := f.finished(w, hookshot.DeliveryFailed, old, f.at(-25*time.Hour))
	recent := f.finished(w, hookshot.DeliveryFailed, old, f.at(-time.Hour))
	busy := f.enqueue(w, old, func(d *hookshot.Delivery) { d.CreatedAt, d.UpdatedAt = old, old })
	undelivered := f.newEvent(studyA)
	undelivered.CreatedAt = old
	f.publish(undelivered, nil, nil)
	fresh := f.newEvent(studyA)
	fresh.CreatedAt = f.at(-time.Hour)
	f.publish(fresh, nil, nil)

	p := hookshot.Prune{FinishedBefore: f.at(-24 * time.Hour), Limit: 100}
	want := hookshot.PruneCounts{Deliveries: 2, Events: 3}
	checkCounts(t, "CountPrunable", f.countPrunable(p), want)
	checkCounts(t, "CountPrunable again (it deletes nothing)", f.countPrunable(p), want)
	f.kept(succeeded)
	checkCounts(t, "pruned", f.pruneAll(p), want)
	checkCounts(t, "CountPrunable after pruning", f.countPrunable(p), hookshot.PruneCounts{})
	checkCounts(t, "pruned again", f.pruneAll(p), hookshot.PruneCounts{})

	f.gone(succeeded)
	f.gone(failed)
	f.kept(recent)
	f.kept(busy)
	// The delivery in progress is still claimable, with its event's payload.
	jobs := f.claimOnly("engine", f.now, busy)
	if string(jobs[0].Payload) != string(uploadPayload) {
		t.Errorf("payload of the delivery in progress after pruning = %q, want the event's", jobs[0].Payload)
	}
	if got := f.deliveryIDs(w); len(got) != 2 {
		t.Errorf("deliveries left = %v, want the recent and the busy one", got)
	}
}

// deliveryIDs lists w's deliveries' IDs.
func (f *fixture) deliveryIDs(w *hookshot.Webhook) []string {
	f.t.Helper()
	ds, err := f.store.Deliveries(f.ctx, hookshot.DeliveryFilter{WebhookID: w.ID})
	if err != nil {
		f.t.Fatalf("Deliveries: %v", err)
	}
	return deliveryIDs(ds)
}

// A pruned delivery's attempts are counted and deleted with it.
func testPruneAttempts(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	jobs := f.claimOnly("engine", f.now, d)
	f.record("engine", f.result(jobs[0], hookshot.DeliveryInProgress, f.at(10*time.Second)))
	jobs = f.claimOnly("engine", f.at(10*time.Second), d)
	f.record("engine", f.result(jobs[0], hookshot.DeliverySucceeded, f.at(10*time.Second)))

	p := hookshot.Prune{FinishedBefore: f.at(time.Hour), Limit: 10}
	want := hookshot.PruneCounts{Deliveries: 1, Attempts: 2, Events: 1}
	checkCounts(t, "CountPrunable", f.countPrunable(p), want)
	checkCounts(t, "pruned", f.pruneAll(p), want)
	f.gone(d)
}

// One batch deletes at most Limit rows of each table, oldest first, and
// an event goes in the batch that took its last delivery.
func testPruneBatchLimit(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	var ds []*hookshot.Delivery
	for i := range 5 {
		at := f.at(time.Duration(i-100) * time.Hour)
		ds = append(ds, f.finished(w, hookshot.DeliverySucceeded, at, at))
		f.audit(hookshot.AuditEntry{At: at, Actor: "system", Action: hookshot.AuditChanged, Target: "thing"})
	}
	p := hookshot.Prune{FinishedBefore: f.now, AuditBefore: f.now, Limit: 2}
	for i, want := range []int64{2, 2, 1, 0} {
		c, err := f.pruner().PruneBatch(f.ctx, p)
		if err != nil {
			t.Fatalf("PruneBatch %d: %v", i+1, err)
		}
		checkCounts(t, "batch", c, hookshot.PruneCounts{Deliveries: want, Events: want, AuditEntries: want})
		if i == 0 {
			f.gone(ds[0])
			f.gone(ds[1])
			f.kept(ds[2])
		}
	}
	if _, err := f.pruner().PruneBatch(f.ctx, hookshot.Prune{FinishedBefore: f.now}); err == nil {
		t.Error("PruneBatch with no limit: no error")
	}
}

// Keys go once their window has passed, and an event stays while a live
// key names it, so that the key still answers with it; once the key has
// gone, the event goes, and the same key publishes anew.
func testPruneIdempotencyWindow(t *testing.T, f *fixture) {
	expired := f.newEvent(studyA)
	expired.CreatedAt = f.at(-25 * time.Hour)
	f.publish(expired, nil, f.key("expired", "h1"))
	live := f.newEvent(studyA)
	live.CreatedAt = f.at(-2 * time.Hour)
	f.publish(live, nil, f.key("live", "h2"))

	// A retention of an hour: both events are old enough, but the live
	// key keeps its event.
	p := hookshot.Prune{FinishedBefore: f.at(-time.Hour), KeysBefore: f.at(-24 * time.Hour), Limit: 10}
	want := hookshot.PruneCounts{IdempotencyKeys: 1, Events: 1}
	checkCounts(t, "CountPrunable", f.countPrunable(p), want)
	checkCounts(t, "pruned", f.pruneAll(p), want)

	again := f.newEvent(studyA)
	if pub := f.publish(again, nil, f.key("live", "h2")); !pub.Replayed || pub.Event.ID != live.ID {
		t.Errorf("publish under the live key after pruning: replayed %v event %s, want event %s replayed", pub.Replayed, pub.Event.ID, live.ID)
	}
	anew := f.newEvent(studyA)
	if pub := f.publish(anew, nil, f.key("expired", "h1")); pub.Replayed || pub.Event.ID != anew.ID {
		t.Errorf("publish under the pruned key: replayed %v event %s, want the new event %s", pub.Replayed, pub.Event.ID, anew.ID)
	}

	// Without KeysBefore no key goes, and neither does an event one names.
	checkCounts(t, "CountPrunable keeping keys", f.countPrunable(hookshot.Prune{FinishedBefore: f.at(time.Hour)}), hookshot.PruneCounts{})
}

// A webhook's current validation delivery stays however old, so that its
// validation state names a delivery that exists; an earlier one goes.
func testPruneCurrentValidation(t *testing.T, f *fixture) {
	old := f.at(-48 * time.Hour)
	w := f.newWebhook(studyA)
	first := f.newValidation(w)
	first.Status, first.CreatedAt, first.UpdatedAt = hookshot.DeliveryFailed, old, old
	if err := f.store.CreateWebhook(f.ctx, w, first, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	second := f.newValidation(w)
	second.Status, second.CreatedAt, second.UpdatedAt = hookshot.DeliverySucceeded, old, old
	if err := f.store.UpdateWebhook(f.ctx, w, second, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	p := hookshot.Prune{FinishedBefore: f.now, Limit: 10}
	checkCounts(t, "CountPrunable", f.countPrunable(p), hookshot.PruneCounts{Deliveries: 1})
	checkCounts(t, "pruned", f.pruneAll(p), hookshot.PruneCounts{Deliveries: 1})
	f.gone(first)
	f.kept(second)
}

// Audit entries older than AuditBefore go; the rest stay.
func testPruneAudit(t *testing.T, f *fixture) {
	f.audit(hookshot.AuditEntry{At: f.at(-2 * time.Hour), Actor: "system", Action: hookshot.AuditChanged, Target: "old"})
	keep := f.audit(hookshot.AuditEntry{At: f.now, Actor: "system", Action: hookshot.AuditChanged, Target: "new"})
	p := hookshot.Prune{AuditBefore: f.at(-time.Hour), Limit: 10}
	checkCounts(t, "CountPrunable", f.countPrunable(p), hookshot.PruneCounts{AuditEntries: 1})
	checkCounts(t, "pruned", f.pruneAll(p), hookshot.PruneCounts{AuditEntries: 1})
	if trail := f.trail(); len(trail) != 1 || trail[0].ID != keep.ID {
		t.Errorf("audit trail after pruning = %v, want only entry %d", trail, keep.ID)
	}
}

// ReleaseAllLeases makes every leased delivery claimable at once, by
// anyone, and leaves deliveries without a lease alone.
func testReleaseAllLeases(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	leased := f.enqueue(w, f.now)
	f.claimOnly("died", f.now, leased)
	later := f.enqueue(w, f.at(time.Hour))
	f.finished(w, hookshot.DeliverySucceeded, f.now, f.now)
	f.claimOnly("restarted", f.at(time.Second))

	n, err := f.pruner().ReleaseAllLeases(f.ctx, f.at(time.Second))
	if err != nil {
		t.Fatalf("ReleaseAllLeases: %v", err)
	}
	if n != 1 {
		t.Errorf("ReleaseAllLeases released %d, want 1", n)
	}
	f.claimOnly("restarted", f.at(time.Second), leased)
	// The delivery that was not leased is still due when it was.
	f.claimOnly("restarted", f.at(2*time.Second))
	// The restarted owner's own lease runs out as any does.
	f.claimOnly("restarted", f.at(time.Hour), leased, later)
}

// Pruners running at once (several processes on one PostgreSQL database)
// neither fail nor wait on each other's rows, and between them delete
// each row once.
func testConcurrentPruners(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	old := f.at(-48 * time.Hour)
	const n = 60
	for range n {
		f.finished(w, hookshot.DeliveryFailed, old, old)
	}
	p := hookshot.Prune{FinishedBefore: f.now, Limit: 5}
	pruner := f.pruner()
	var (
		mu    sync.Mutex
		total hookshot.PruneCounts
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				c, err := pruner.PruneBatch(f.ctx, p)
				if err != nil {
					t.Errorf("PruneBatch: %v", err)
					return
				}
				mu.Lock()
				total.Add(c)
				mu.Unlock()
				if c.Deliveries == 0 && c.Events == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	checkCounts(t, "pruned by four at once", total, hookshot.PruneCounts{Deliveries: n, Events: n})
	checkCounts(t, "left", f.countPrunable(p), hookshot.PruneCounts{})
}
