package delivery

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// insertLeased is what a publish's transaction does with the deliveries it
// holds slots for: they are stored leased to the engine, not due.
func (q *fakeQueue) insertLeased(jobs ...*hookshot.Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range jobs {
		q.leased[j.Delivery.ID] = j
	}
	q.announceLocked()
}

// waitCaughtUp waits until the engine's last claim found nothing more due.
// The claim's answer is seen by the fake queue a moment before the engine
// takes it in, so this looks at the engine itself.
func waitCaughtUp(t testing.TB, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		ok := e.caughtUpLocked()
		e.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out after 10s waiting for the engine to catch up")
		}
		time.Sleep(time.Millisecond)
	}
}

// publish is a publish handing jobs over: it reserves, inserts the jobs it
// got slots for leased and starts them, and returns the rest, which it
// would insert due.
func publish(q *fakeQueue, e *Engine, jobs ...*hookshot.Job) (handed, due []*hookshot.Job) {
	webhooks := make([]int64, len(jobs))
	for i, j := range jobs {
		webhooks[i] = j.Delivery.WebhookID
	}
	r := e.Reserve(webhooks)
	for i, j := range jobs {
		if r.Holds(i) {
			handed = append(handed, j)
		} else {
			due = append(due, j)
		}
	}
	if r != nil && (r.Owner != e.cfg.Owner || !r.LeaseUntil.After(time.Now())) {
		panic(fmt.Sprintf("reservation leases to %q until %s", r.Owner, r.LeaseUntil))
	}
	q.insertLeased(handed...)
	q.add(due...)
	r.Start(handed)
	return handed, due
}

func ids(jobs []*hookshot.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Delivery.ID)
	}
	return out
}

// A caught-up engine takes what it can start at once, up to its caps, and
// attempts it without a claim; the rest is left due, and until a claim
// has taken it nothing more is handed over.
func TestHandOffTakesWhatCanStartAndNoMore(t *testing.T) {
	q := newFakeQueue()
	release := make(chan struct{})
	rc := newReceiver(t, hang(release))
	cfg := testConfig()
	cfg.Concurrency, cfg.PerWebhook = 3, 2
	e := startEngine(t, q, cfg)
	waitCaughtUp(t, e)
	claims := len(q.claims)

	handed, due := publish(q, e,
		newJob("a1", 1, rc.URL), newJob("a2", 1, rc.URL), newJob("a3", 1, rc.URL),
		newJob("b1", 2, rc.URL), newJob("b2", 2, rc.URL))
	if got := ids(handed); !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Fatalf("handed over %v, want a1 and a2 (webhook 1's cap) and b1 (the concurrency)", got)
	}
	arrived := rc.waitArrivals(t, 3)
	slices.Sort(arrived)
	if !slices.Equal(arrived, []string{"a1", "a2", "b1"}) {
		t.Fatalf("attempts of %v, want the three handed over", arrived)
	}
	if r := e.Reserve([]int64{3}); r != nil {
		t.Fatal("the engine took a delivery while two it left due wait for a claim")
	}
	q.locked(func() {
		if len(q.waiting) != 2 || len(q.claims) != claims {
			t.Fatalf("%d due and %d claims made with every slot taken; want a3 and b2 due, no claim", len(q.waiting), len(q.claims)-claims)
		}
	})

	close(release)
	all := append(ids(handed), ids(due)...)
	q.waitFinished(t, all...)
	waitCaughtUp(t, e)
	if r := e.Reserve([]int64{3}); !r.Holds(0) {
		t.Fatal("a caught-up engine with free slots took nothing")
	} else {
		r.Cancel()
	}
	q.locked(func() {
		for _, id := range all {
			if q.finished[id].Status != hookshot.DeliverySucceeded {
				t.Fatalf("%s: %s", id, q.finished[id].Status)
			}
		}
	})
}

// An engine that may have older due deliveries to claim takes nothing:
// before its first claim, after a wake-up, while a retry it scheduled is
// due, and for a webhook its last claim passed over.
func TestHandOffWaitsWhileTheEngineIsBehind(t *testing.T) {
	q := newFakeQueue()
	// Each claim waits for its turn, so the tests sees the engine between
	// a sign of due deliveries and the claim that takes them.
	turn, quit := make(chan struct{}), make(chan struct{})
	q.onClaim = func(ctx context.Context) error {
		select {
		case <-turn:
			return nil
		case <-quit:
		case <-ctx.Done():
		}
		return context.Canceled
	}
	cfg := testConfig()
	e := New(q, cfg)
	if e.Reserve([]int64{1}) != nil {
		t.Fatal("an engine not started took a delivery")
	}
	e.Start()
	t.Cleanup(func() {
		close(quit)
		_, _ = stopTimed(t, e, 5*time.Second)
	})
	if e.Reserve([]int64{1}) != nil {
		t.Fatal("an engine took a delivery before its first claim")
	}
	turn <- struct{}{}
	waitCaughtUp(t, e)

	e.Notify()
	if e.Reserve([]int64{1}) != nil {
		t.Fatal("an engine took a delivery after a wake-up, before claiming")
	}
	turn <- struct{}{}
	waitCaughtUp(t, e)

	e.mu.Lock()
	e.nextRetry = time.Now().Add(-time.Second)
	e.mu.Unlock()
	if e.Reserve([]int64{1}) != nil {
		t.Fatal("an engine took a delivery while a retry is due")
	}
	e.mu.Lock()
	e.nextRetry = time.Time{}
	e.caughtUp.skipped = []int64{2}
	e.mu.Unlock()
	r := e.Reserve([]int64{1, 2})
	if !r.Holds(0) || r.Holds(1) {
		t.Fatal("want webhook 1's delivery taken and webhook 2's, passed over by the last claim, left")
	}
	r.Cancel()
}

// A publish that fails gives its slots back; so does the start of fewer
// jobs than were held (a webhook deleted meanwhile).
func TestHandOffGivesBackUnusedSlots(t *testing.T) {
	q := newFakeQueue()
	rc := newReceiver(t, nil)
	cfg := testConfig()
	cfg.Concurrency, cfg.PerWebhook = 2, 2
	e := startEngine(t, q, cfg)
	waitCaughtUp(t, e)

	r := e.Reserve([]int64{1, 1})
	if !r.Holds(0) || !r.Holds(1) {
		t.Fatal("want both taken")
	}
	if e.Reserve([]int64{2}) != nil {
		t.Fatal("took a third delivery with a concurrency of 2")
	}
	r.Cancel()
	waitCaughtUp(t, e)
	r = e.Reserve([]int64{1, 1})
	if !r.Holds(1) {
		t.Fatal("the cancelled slots were not given back")
	}
	j := newJob("x", 1, rc.URL)
	q.insertLeased(j)
	r.Start([]*hookshot.Job{j})
	q.waitFinished(t, "x")
	// The slot is freed just after the result is queued for recording.
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		inflight, perWebhook := e.inflight, e.perWebhook[1]
		e.mu.Unlock()
		if inflight == 0 && perWebhook == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the only job finished, %d in flight (%d on webhook 1), want none", inflight, perWebhook)
		}
		time.Sleep(time.Millisecond)
	}
}

// Stop waits for a publish that holds slots, and hands back what it
// leased to the engine once it starts, as it does claimed deliveries; one
// handed over before Stop is attempted and recorded like a claimed one.
func TestStopHandsBackHandedOffDeliveries(t *testing.T) {
	q := newFakeQueue()
	release := make(chan struct{})
	rc := newReceiver(t, hang(release))
	e := startEngine(t, q, testConfig())
	waitCaughtUp(t, e)

	running := newJob("running", 1, rc.URL)
	handed, _ := publish(q, e, running)
	if len(handed) != 1 {
		t.Fatal("nothing handed over")
	}
	rc.waitArrivals(t, 1)
	late := newJob("late", 2, rc.URL)
	r := e.Reserve([]int64{2})
	if !r.Holds(0) {
		t.Fatal("nothing reserved")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(context.Background()) }()
	<-e.stopping
	close(release)
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a publish held slots", err)
	case <-time.After(50 * time.Millisecond):
	}
	q.insertLeased(late)
	r.Start([]*hookshot.Job{late})
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	q.locked(func() {
		if r := q.finished["running"]; r == nil || r.Status != hookshot.DeliverySucceeded {
			t.Fatalf("the delivery in flight at Stop: %v", r)
		}
		if !slices.Equal(q.released, []string{"late"}) || len(q.leased) != 0 {
			t.Fatalf("released %v, %d still leased; want the late one handed back", q.released, len(q.leased))
		}
	})
	if n := len(rc.arrived); n != 0 {
		t.Fatalf("%d attempts after Stop began", n)
	}
	if e.Reserve([]int64{3}) != nil {
		t.Fatal("a stopped engine took a delivery")
	}
}

// Under publishes handing over and claims at once, no webhook has more
// attempts in flight than its cap, nor the process more than its
// concurrency, and every delivery is attempted once.
func TestHandOffAndClaimsShareTheCaps(t *testing.T) {
	q := newFakeQueue()
	var total inFlight
	perHook := make([]*inFlight, 3)
	urls := make([]string, 3)
	var mu sync.Mutex
	seen := map[string]int{}
	for w := range perHook {
		f := &inFlight{}
		perHook[w] = f
		urls[w] = newReceiver(t, func(rw http.ResponseWriter, r *http.Request) {
			total.enter()
			f.enter()
			defer total.leave()
			defer f.leave()
			mu.Lock()
			seen[r.Header.Get(DefaultWire.HeaderPrefix+"Delivery")]++
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}).URL
	}
	cfg := testConfig()
	cfg.Concurrency, cfg.PerWebhook, cfg.PollInterval = 5, 2, 20*time.Millisecond
	e := startEngine(t, q, cfg)
	// The first publish finds the engine caught up, and hands over.
	waitCaughtUp(t, e)
	var all []string
	var wg sync.WaitGroup
	var handedOff atomic.Int64
	for p := 0; p < 4; p++ {
		var batches [][]*hookshot.Job
		for i := 0; i < 30; i++ {
			var jobs []*hookshot.Job
			for w := range urls {
				id := fmt.Sprintf("p%d-%d-w%d", p, i, w+1)
				all = append(all, id)
				jobs = append(jobs, newJob(id, int64(w+1), urls[w]))
			}
			batches = append(batches, jobs)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, jobs := range batches {
				handed, due := publish(q, e, jobs...)
				handedOff.Add(int64(len(handed)))
				if len(due) > 0 {
					e.Notify()
				}
				// Paced, as publishes over HTTP are, so that claims catch
				// up between them now and then.
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	q.waitFinished(t, all...)
	if handedOff.Load() == 0 {
		t.Fatal("nothing was handed over")
	}
	for w, f := range perHook {
		if f.peak() > 2 {
			t.Fatalf("webhook %d had %d attempts in flight, over its cap of 2", w+1, f.peak())
		}
	}
	if total.peak() > 5 {
		t.Fatalf("%d attempts in flight, over the concurrency of 5", total.peak())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range all {
		if seen[id] != 1 {
			t.Fatalf("%s attempted %d times", id, seen[id])
		}
	}
}
