package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// An engine that never started has nothing to wait for.
func TestStopWithoutStartReturnsAtOnce(t *testing.T) {
	e := New(newFakeQueue(), testConfig())
	took, err := stopTimed(t, e, time.Minute)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took > time.Second {
		t.Fatalf("Stop without Start took %s", took)
	}
	// And a Start after Stop does not bring it back to life.
	e.Start()
	if took, _ := stopTimed(t, e, time.Minute); took > time.Second {
		t.Fatalf("a second Stop took %s", took)
	}
}

// A second Start does not start a second loop or recorder, and Stop may be
// called from many goroutines at once and again afterwards: each returns
// once the engine has stopped.
func TestStartTwiceAndStopConcurrently(t *testing.T) {
	q := newFakeQueue()
	rc := newReceiver(t, nil)
	e := New(q, testConfig())
	e.Start()
	e.Start()
	q.add(newJob("a", 1, rc.URL))
	e.Notify()
	q.waitFinished(t, "a")

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			errs[i] = e.Stop(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Stop %d: %v", i, err)
		}
	}
	if took, err := stopTimed(t, e, time.Minute); err != nil || took > time.Second {
		t.Fatalf("Stop after Stop took %s and said %v", took, err)
	}
	q.locked(func() {
		if len(q.claims) == 0 {
			t.Fatal("no claims were made")
		}
	})
}

// Once the wake-up channel is closed, the loop stops listening to it and
// sleeps until it is woken or polls, rather than claiming without pause.
func TestClosedWakeupsAreIgnored(t *testing.T) {
	q := newFakeQueue()
	rc := newReceiver(t, nil)
	wakeups := make(chan struct{})
	close(wakeups)
	cfg := testConfig()
	cfg.Wakeups = wakeups
	e := startEngine(t, q, cfg)
	q.add(newJob("a", 1, rc.URL))
	e.Notify()
	q.waitFinished(t, "a")
	// One claim at start, one for the Notify, one after recording; a loop
	// that spins has made thousands while the attempt went out.
	q.locked(func() {
		if n := len(q.claims); n > 4 {
			t.Fatalf("%d claims for one delivery: the loop spins on the closed channel", n)
		}
	})
}

// Stop keeps to its deadline while recording fails and is being retried:
// the results it could not record stay leased to this process until the
// leases run out, as a crash would leave them.
func TestStopHonoursItsDeadlineWhileRecordingFails(t *testing.T) {
	q := newFakeQueue()
	q.onRecord = func(context.Context, int, []*hookshot.Result) error { return errors.New("database is locked") }
	stopAfterFirstRecording(t, q, true)
}

// Stop keeps to its deadline while the store hangs in RecordResults until
// its context ends, as a database waiting on a lock does.
func TestStopHonoursItsDeadlineWhileRecordingHangs(t *testing.T) {
	q := newFakeQueue()
	q.onRecord = func(ctx context.Context, _ int, _ []*hookshot.Result) error { <-ctx.Done(); return ctx.Err() }
	stopAfterFirstRecording(t, q, true)
}

// Stop keeps to its deadline even when the store ignores its context.
func TestStopHonoursItsDeadlineWhenTheStoreIgnoresItsContext(t *testing.T) {
	q := newFakeQueue()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	q.onRecord = func(context.Context, int, []*hookshot.Result) error { <-stuck; return errors.New("gave up") }
	q.onRelease = func(context.Context) error { <-stuck; return errors.New("gave up") }
	stopAfterFirstRecording(t, q, false)
}

// stopAfterFirstRecording makes ten attempts, recorded one at a time, so
// that while the first recording is stuck, more results wait than the
// engine has room for; then it checks that Stop with a 100ms deadline
// returns within 600ms and, when the store honours its context, that the
// recorder has given up by then too instead of retrying on.
func stopAfterFirstRecording(t *testing.T, q *fakeQueue, recorderEnds bool) {
	t.Helper()
	rc := newReceiver(t, nil)
	cfg := testConfig()
	cfg.BatchSize = 1
	e := New(q, cfg)
	e.recordPause = time.Minute
	e.Start()
	for i := 0; i < 10; i++ {
		q.add(newJob(fmt.Sprint(i), 1, rc.URL))
	}
	e.Notify()
	rc.waitArrivals(t, 10)
	q.waitUntil(t, "the first recording", func() bool { return q.recordCalls > 0 })
	took, err := stopTimed(t, e, 100*time.Millisecond)
	t.Logf("Stop took %s: %v", took, err)
	if took > 600*time.Millisecond {
		t.Fatalf("Stop with a 100ms deadline took %s", took)
	}
	if !recorderEnds {
		return
	}
	select {
	case <-e.recDone:
	case <-time.After(time.Second):
		t.Fatal("the recorder goes on trying the store after Stop's deadline")
	}
}

// Stop keeps to its deadline while a claim hangs in the store, whether
// the store honours its context or not.
func TestStopHonoursItsDeadlineWhileClaimHangs(t *testing.T) {
	for _, honours := range []bool{true, false} {
		t.Run(fmt.Sprintf("honouring its context %v", honours), func(t *testing.T) {
			q := newFakeQueue()
			stuck := make(chan struct{})
			t.Cleanup(func() { close(stuck) })
			claiming := make(chan struct{}, 1)
			q.onClaim = func(ctx context.Context) error {
				select {
				case claiming <- struct{}{}:
				default:
				}
				if honours {
					<-ctx.Done()
					return ctx.Err()
				}
				<-stuck
				return errors.New("gave up")
			}
			e := New(q, testConfig())
			e.Start()
			<-claiming
			took, err := stopTimed(t, e, 100*time.Millisecond)
			t.Logf("Stop took %s: %v", took, err)
			if took > 600*time.Millisecond {
				t.Fatalf("Stop with a 100ms deadline took %s", took)
			}
		})
	}
}

// Attempts are cut short a tenth of the time left before Stop's deadline,
// at most a second before it, and never after it.
func TestCutShortBefore(t *testing.T) {
	for _, c := range []struct {
		left, keep time.Duration
	}{
		{100 * time.Millisecond, 10 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{20 * time.Second, time.Second},
		{-time.Second, 0},
	} {
		deadline := time.Now().Add(c.left)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cut, cancelCut := cutShortBefore(ctx)
		got, _ := cut.Deadline()
		cancelCut()
		cancel()
		if keep := deadline.Sub(got); keep < c.keep-5*time.Millisecond || keep > c.keep {
			t.Fatalf("with %s left, cut %s before the deadline, want %s", c.left, keep, c.keep)
		}
	}
	cut, cancel := cutShortBefore(context.Background())
	defer cancel()
	if _, ok := cut.Deadline(); ok {
		t.Fatal("a cut without a deadline has one")
	}
}
