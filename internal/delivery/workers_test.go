package delivery

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// poolSize returns the engine's workers and how many of them are idle.
func poolSize(e *Engine) (workers, idle int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workers, e.idleWorkers
}

// waitPool waits until cond holds of the engine's workers and idle ones,
// and fails the test when it does not within 10s.
func waitPool(t *testing.T, e *Engine, what string, cond func(workers, idle int) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, idle := poolSize(e)
		if cond(w, idle) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s: %d workers, %d idle", what, w, idle)
		}
		time.Sleep(time.Millisecond)
	}
}

// Attempts run on workers that stay for the next attempt: however many
// deliveries there are, the engine starts no more workers than attempts
// may be in flight, and the caps on attempts still hold.
func TestWorkersAreReusedAndBoundedByTheConcurrency(t *testing.T) {
	q := newFakeQueue()
	var total inFlight
	perHook := make([]*inFlight, 3)
	var ids []string
	for w := range perHook {
		f := &inFlight{}
		perHook[w] = f
		rc := newReceiver(t, func(http.ResponseWriter, *http.Request) {
			total.enter()
			f.enter()
			// Long enough for the attempts of a claim to overlap.
			time.Sleep(2 * time.Millisecond)
			f.leave()
			total.leave()
		})
		for i := range 20 {
			id := fmt.Sprintf("w%d-%d", w+1, i)
			ids = append(ids, id)
			q.add(newJob(id, int64(w+1), rc.URL))
		}
	}
	cfg := testConfig()
	cfg.Concurrency, cfg.PerWebhook = 4, 2
	e := New(q, cfg)
	e.idleFor = time.Hour // no worker leaves: e.workers counts every one started
	e.Start()
	t.Cleanup(func() { _, _ = stopTimed(t, e, 5*time.Second) })
	q.waitFinished(t, ids...)

	workers, _ := poolSize(e)
	if workers < 1 || workers > cfg.Concurrency {
		t.Fatalf("%d workers started for %d attempts, want 1 to %d (the concurrency)", workers, len(ids), cfg.Concurrency)
	}
	if total.peak() > cfg.Concurrency {
		t.Fatalf("%d attempts in flight, over the concurrency of %d", total.peak(), cfg.Concurrency)
	}
	for w, f := range perHook {
		if f.peak() > cfg.PerWebhook {
			t.Fatalf("webhook %d had %d attempts in flight, over its cap of %d", w+1, f.peak(), cfg.PerWebhook)
		}
	}
	// Every worker is idle now, waiting with nothing queued for it.
	waitPool(t, e, "every worker idle", func(w, idle int) bool { return idle == w })
}

// A worker without work leaves after a while, so that an idle engine holds
// none; new work starts workers again.
func TestIdleWorkersLeave(t *testing.T) {
	q := newFakeQueue()
	rc := newReceiver(t, nil)
	cfg := testConfig()
	e := New(q, cfg)
	e.idleFor = 20 * time.Millisecond
	e.Start()
	t.Cleanup(func() { _, _ = stopTimed(t, e, 5*time.Second) })

	for round := range 2 {
		var ids []string
		for i := range 5 {
			id := fmt.Sprintf("r%d-%d", round, i)
			ids = append(ids, id)
			q.add(newJob(id, int64(i+1), rc.URL))
		}
		e.Notify()
		q.waitFinished(t, ids...)
		waitPool(t, e, "the idle workers to leave", func(w, idle int) bool { return w == 0 && idle == 0 })
	}
}

// Stop returns once the attempts in flight are recorded and every worker,
// however long it might have waited for work, has left.
func TestStopLeavesNoWorkers(t *testing.T) {
	q := newFakeQueue()
	release := make(chan struct{})
	rc := newReceiver(t, hang(release))
	var ids []string
	for i := range 6 {
		id := fmt.Sprint(i)
		ids = append(ids, id)
		q.add(newJob(id, int64(i%3+1), rc.URL))
	}
	e := New(q, testConfig())
	e.idleFor = time.Hour
	e.Start()
	rc.waitArrivals(t, 6)
	close(release)
	q.waitFinished(t, ids...)
	waitPool(t, e, "every worker idle", func(w, idle int) bool { return w == 6 && idle == 6 })

	took, err := stopTimed(t, e, 5*time.Second)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("Stop took %s with only idle workers", took)
	}
	if w, idle := poolSize(e); w != 0 || idle != 0 {
		t.Fatalf("Stop returned with %d workers (%d idle)", w, idle)
	}
}
