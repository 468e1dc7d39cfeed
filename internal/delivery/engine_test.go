package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// inFlight counts the requests a receiver is answering, and the most it
// answered at once.
type inFlight struct {
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) enter() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now++
	f.max = max(f.max, f.now)
}

func (f *inFlight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now--
}

func (f *inFlight) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

// Claims ask for no more than the free slots, skip a webhook at its cap,
// and a webhook never has more attempts in flight than its cap, nor the
// process more than its concurrency.
func TestClaimsHonourTheCaps(t *testing.T) {
	q := newFakeQueue()
	release := make(chan struct{})
	var total inFlight
	perHook := make([]*inFlight, 3)
	var ids []string
	for w := range perHook {
		f := &inFlight{}
		perHook[w] = f
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			total.enter()
			f.enter()
			defer total.leave()
			defer f.leave()
			hang(release)(w, r)
		})
		for i := 0; i < 10; i++ {
			id := fmt.Sprintf("w%d-%d", w+1, i)
			ids = append(ids, id)
			q.add(newJob(id, int64(w+1), rc.URL))
		}
	}
	cfg := testConfig()
	cfg.Concurrency, cfg.PerWebhook = 6, 2
	startEngine(t, q, cfg)

	// The first claim takes six of webhook 1: two start, two wait for its
	// slots, two go back. The second takes two of webhook 2, skipping 1.
	// Then all six slots are taken, and nothing more is claimed.
	q.waitUntil(t, "two claims and the surplus back", func() bool { return len(q.claims) >= 2 && len(q.released) == 2 })
	q.locked(func() {
		first, second := q.claims[0], q.claims[1]
		if first.Limit != 6 || len(first.SkipWebhooks) != 0 {
			t.Fatalf("first claim: limit %d, skipping %v; want 6, none", first.Limit, first.SkipWebhooks)
		}
		if second.Limit != 2 || !slices.Equal(second.SkipWebhooks, []int64{1}) {
			t.Fatalf("second claim: limit %d, skipping %v; want 2, [1]", second.Limit, second.SkipWebhooks)
		}
		if !slices.Equal(q.released, []string{"w1-4", "w1-5"}) {
			t.Fatalf("released %v at the claim, want w1-4 and w1-5", q.released)
		}
	})
	close(release)
	q.waitFinished(t, ids...)
	for w, f := range perHook {
		if f.peak() > 2 {
			t.Fatalf("webhook %d had %d attempts in flight, over its cap of 2", w+1, f.peak())
		}
	}
	if total.peak() > 6 {
		t.Fatalf("%d attempts in flight, over the concurrency of 6", total.peak())
	}
	q.locked(func() {
		for _, c := range q.claims {
			if c.Limit > 6 || c.Owner != "test" {
				t.Fatalf("a claim for %d by %q", c.Limit, c.Owner)
			}
		}
		for id, r := range q.finished {
			if r.Status != hookshot.DeliverySucceeded {
				t.Fatalf("%s: %s", id, r.Status)
			}
		}
	})
}

// Results waiting together are recorded together, a batch at most
// BatchSize long.
func TestResultsAreRecordedInBatches(t *testing.T) {
	q := newFakeQueue()
	cfg := testConfig()
	cfg.BatchSize = 4
	e := New(q, cfg)
	for i := 0; i < 10; i++ {
		e.results <- &hookshot.Result{Attempt: &hookshot.Attempt{DeliveryID: fmt.Sprint(i), Number: 1}, Status: hookshot.DeliverySucceeded}
	}
	e.Start()
	q.waitUntil(t, "ten results recorded", func() bool { return len(q.batches) == 3 })
	q.locked(func() {
		var sizes []int
		for _, b := range q.batches {
			sizes = append(sizes, len(b))
		}
		if !slices.Equal(sizes, []int{4, 4, 2}) || q.recordCalls != 3 {
			t.Fatalf("batches of %v in %d calls, want [4 4 2] in 3", sizes, q.recordCalls)
		}
	})
	if _, err := stopTimed(t, e, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// startBusy queues n deliveries, "0" to n-1, to one webhook whose receiver
// hangs until release is closed or the attempt gives up; starts an engine
// that allows perWebhook of them in flight; and returns once those have
// arrived, with their IDs.
func startBusy(t testing.TB, q *fakeQueue, n, perWebhook int, release <-chan struct{}) (*Engine, *receiver, []string) {
	t.Helper()
	rc := newReceiver(t, hang(release))
	for i := 0; i < n; i++ {
		q.add(newJob(fmt.Sprint(i), 1, rc.URL))
	}
	cfg := testConfig()
	cfg.PerWebhook = perWebhook
	e := startEngine(t, q, cfg)
	return e, rc, rc.waitArrivals(t, perWebhook)
}

// Stop waits for the attempts in flight and records them; what waited for
// a slot is handed back, not attempted.
func TestStopWaitsForAttemptsInFlight(t *testing.T) {
	q := newFakeQueue()
	release := make(chan struct{})
	e, rc, started := startBusy(t, q, 4, 2, release)

	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(context.Background()) }()
	<-e.stopping
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	q.locked(func() {
		for _, id := range started {
			if r := q.finished[id]; r == nil || r.Status != hookshot.DeliverySucceeded {
				t.Fatalf("delivery %s in flight at Stop: %v", id, r)
			}
		}
		if len(q.released) != 2 || len(q.leased) != 0 {
			t.Fatalf("released %v, still leased %d, want the 2 that waited and none", q.released, len(q.leased))
		}
	})
	if n := len(rc.arrived); n != 0 {
		t.Fatalf("%d more attempts after Stop began", n)
	}
}

// When Stop's deadline comes first, the attempts in flight are cut short
// and, with those that waited for a slot, handed back in time: none is
// recorded as a failed attempt, and none stays leased.
func TestStopHandsBackQueuedAndInterruptedLeases(t *testing.T) {
	q := newFakeQueue()
	e, _, _ := startBusy(t, q, 5, 2, nil)
	q.waitUntil(t, "the surplus handed back", func() bool { return len(q.released) == 1 })

	// A second leaves Stop a tenth of it, 100 ms, to hand the leases back
	// after the cut: 30 ms (of 300) was too little on a loaded machine.
	took, err := stopTimed(t, e, time.Second)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("Stop with a 1s deadline took %s", took)
	}
	q.locked(func() {
		released := slices.Sorted(slices.Values(q.released))
		if !slices.Equal(released, []string{"0", "1", "2", "3", "4"}) || len(q.leased) != 0 {
			t.Fatalf("released %v and %d still leased; want all five", released, len(q.leased))
		}
		if q.recordCalls != 0 {
			t.Fatalf("%d recordings of attempts cut short by Stop", q.recordCalls)
		}
	})
}

// A store that hangs while leases are handed back does not hold Stop past
// its deadline; the leases then run out.
func TestStopHonoursItsDeadlineWhileHandingBackHangs(t *testing.T) {
	q := newFakeQueue()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	e, _, _ := startBusy(t, q, 3, 1, nil)
	q.waitUntil(t, "the surplus handed back", func() bool { return len(q.released) == 1 })
	q.mu.Lock()
	q.onRelease = func(context.Context) error { <-stuck; return errors.New("gave up") }
	q.mu.Unlock()

	took, err := stopTimed(t, e, 100*time.Millisecond)
	if took > 600*time.Millisecond {
		t.Fatalf("Stop with a 100ms deadline took %s", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop said %v, want the deadline named", err)
	}
}

// A batch whose recording fails is tried again, and after eight tries
// given up: its leases stay with this process until they run out, and the
// next batch is recorded as usual.
func TestFailingRecordingIsRetriedThenGivenUp(t *testing.T) {
	for _, c := range []struct {
		name     string
		failures int // calls that fail for delivery a
		calls    int // calls for a
		recorded bool
	}{
		{"recovers on the third try", 2, 3, true},
		{"gives up after eight tries", 1000, 8, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := newFakeQueue()
			var callsForA atomic.Int32
			q.onRecord = func(_ context.Context, _ int, results []*hookshot.Result) error {
				if results[0].Attempt.DeliveryID == "a" && int(callsForA.Add(1)) <= c.failures {
					return errors.New("database is locked")
				}
				return nil
			}
			rc := newReceiver(t, nil)
			e := New(q, testConfig())
			e.recordPause = time.Millisecond
			e.Start()
			t.Cleanup(func() { _, _ = stopTimed(t, e, 5*time.Second) })
			q.add(newJob("a", 1, rc.URL))
			e.Notify()
			q.waitUntil(t, "the tries for a", func() bool { return q.recordCalls == c.calls })
			q.add(newJob("b", 1, rc.URL))
			e.Notify()
			q.waitFinished(t, "b")
			q.locked(func() {
				if q.recordCalls != c.calls+1 {
					t.Fatalf("%d calls to record, want %d for a and 1 for b", q.recordCalls, c.calls)
				}
				if _, done := q.finished["a"]; done != c.recorded {
					t.Fatalf("a recorded: %v, want %v", done, c.recorded)
				}
				if _, held := q.leased["a"]; held == c.recorded {
					t.Fatalf("a still leased: %v, want %v", held, !c.recorded)
				}
			})
		})
	}
}

// With nothing to wake it, the engine finds due work on its poll; with a
// poll an hour away, a wake-up from another process or a Notify does.
func TestPollAndWakeupsDriveClaims(t *testing.T) {
	rc := newReceiver(t, nil)
	t.Run("poll", func(t *testing.T) {
		q := newFakeQueue()
		cfg := testConfig()
		cfg.PollInterval = 20 * time.Millisecond
		startEngine(t, q, cfg)
		q.waitUntil(t, "the first claim", func() bool { return len(q.claims) > 0 })
		q.add(newJob("a", 1, rc.URL))
		q.waitFinished(t, "a")
	})
	t.Run("wake-up", func(t *testing.T) {
		q := newFakeQueue()
		wakeups := make(chan struct{}, 1)
		cfg := testConfig()
		cfg.Wakeups = wakeups
		startEngine(t, q, cfg)
		q.waitUntil(t, "the first claim", func() bool { return len(q.claims) > 0 })
		q.add(newJob("a", 1, rc.URL))
		wakeups <- struct{}{}
		q.waitFinished(t, "a")
	})
	t.Run("notify", func(t *testing.T) {
		q := newFakeQueue()
		e := startEngine(t, q, testConfig())
		q.waitUntil(t, "the first claim", func() bool { return len(q.claims) > 0 })
		q.add(newJob("a", 1, rc.URL))
		e.Notify()
		q.waitFinished(t, "a")
	})
	t.Run("a retry this process scheduled", func(t *testing.T) {
		q := newFakeQueue()
		var calls atomic.Int32
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		cfg := testConfig()
		cfg.Schedule = []time.Duration{50 * time.Millisecond}
		e := startEngine(t, q, cfg)
		q.add(newJob("a", 1, rc.URL))
		e.Notify()
		q.waitFinished(t, "a")
		q.locked(func() {
			if r := q.finished["a"]; r.Attempt.Number != 2 || r.Status != hookshot.DeliverySucceeded {
				t.Fatalf("attempt %d %s, want the second succeeded", r.Attempt.Number, r.Status)
			}
		})
	})
}

// The engine's times come from its clock: the claims, the attempts'
// starts, and the next attempt by the schedule, which comes due only when
// the clock gets there.
func TestEngineReadsTheInjectedClock(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	q := newFakeQueue()
	var calls atomic.Int32
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	j := newJob("a", 1, rc.URL)
	j.Delivery.NextAttemptAt = start
	q.add(j)
	cfg := testConfig()
	cfg.Clock = fake
	e := startEngine(t, q, cfg)
	e.Notify()

	q.waitUntil(t, "the first attempt recorded", func() bool { return len(q.batches) == 1 })
	claims := 0
	q.locked(func() {
		r := q.batches[0][0]
		if !r.Attempt.StartedAt.Equal(start) || !r.NextAttemptAt.Equal(start.Add(10*time.Second)) {
			t.Fatalf("attempt started %s, next at %s; want %s and 10s later", r.Attempt.StartedAt, r.NextAttemptAt, start)
		}
		claims = len(q.claims)
	})
	// Not due yet by the clock, however long the test takes.
	e.Notify()
	q.waitUntil(t, "a claim after the first attempt", func() bool { return len(q.claims) > claims })
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d attempts before the clock reached the retry", n)
	}
	fake.Advance(10 * time.Second)
	e.Notify()
	q.waitFinished(t, "a")
	q.locked(func() {
		r := q.finished["a"]
		if r.Attempt.Number != 2 || !r.Attempt.StartedAt.Equal(start.Add(10*time.Second)) {
			t.Fatalf("attempt %d started %s, want the second at %s", r.Attempt.Number, r.Attempt.StartedAt, start.Add(10*time.Second))
		}
		for _, c := range q.claims {
			if !c.Now.Equal(start) && !c.Now.Equal(start.Add(10*time.Second)) {
				t.Fatalf("a claim at %s, not by the clock", c.Now)
			}
		}
	})
}
