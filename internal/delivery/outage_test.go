package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

func TestBackoffIsExponentialAndBounded(t *testing.T) {
	for _, c := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{6, 3200 * time.Millisecond},
		{7, 5 * time.Second},
		{1000, 5 * time.Second},
	} {
		t.Run(fmt.Sprint(c.failures), func(t *testing.T) {
			if got := backoff(c.failures, storeBackoffMin, storeBackoffMax); got != c.want {
				t.Fatalf("backoff(%d) = %s, want %s", c.failures, got, c.want)
			}
		})
	}
}

// lockedBuffer is a log that the engine's goroutines may write together.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// While the store is unavailable, claims and recordings are retried with
// backoff for as long as it lasts (far past the eight tries that other
// recording failures get), the attempt already made is recorded once the
// store is back, not sent again, and each outage is logged when it begins
// and when it ends, not at every retry.
func TestUnavailableStoreIsWaitedOut(t *testing.T) {
	q := newFakeQueue()
	down := fmt.Errorf("sqlite: recording: %w: disk is full", hookshot.ErrStorageUnavailable)
	var claimFailures, recordFailures atomic.Int32
	var failClaims atomic.Bool
	q.onClaim = func(context.Context) error {
		if failClaims.Load() && claimFailures.Add(1) <= 20 {
			return down
		}
		return nil
	}
	q.onRecord = func(_ context.Context, _ int, _ []*hookshot.Result) error {
		if recordFailures.Add(1) <= 20 {
			failClaims.Store(true) // the store goes down right after the claim
			return down
		}
		return nil
	}
	var logs lockedBuffer
	cfg := testConfig()
	cfg.PollInterval = time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	rc := newReceiver(t, nil)
	e := New(q, cfg)
	for _, o := range []*outage{e.claims, e.records} {
		o.min, o.max = time.Millisecond, 4*time.Millisecond
	}
	e.Start()
	t.Cleanup(func() { _, _ = stopTimed(t, e, 5*time.Second) })
	q.add(newJob("a", 1, rc.URL))
	e.Notify()
	q.waitFinished(t, "a")
	// The claim after the outage is logged before it reaches the queue.
	for deadline := time.Now().Add(10 * time.Second); logs.count("storage is back: claiming deliveries resumed") == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("claims never resumed after the outage:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond)
	}
	q.locked(func() {
		if q.recordCalls != 21 {
			t.Fatalf("%d calls to record, want 20 failures and the success", q.recordCalls)
		}
	})
	if n := len(rc.arrived); n != 1 {
		t.Fatalf("the receiver got %d requests, want 1: the attempt made waits to be recorded, it is not sent again", n)
	}
	for _, line := range []string{
		"storage unavailable: recording attempts paused",
		"storage is back: recording attempts resumed",
		"storage unavailable: claiming deliveries paused",
		"storage is back: claiming deliveries resumed",
	} {
		if n := logs.count(line); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", line, n, logs.String())
		}
	}
}

// A batch that the store turns down for another reason after an outage is
// given up as any other, and the outage is over: claiming goes on.
func TestOutageEndsWhenTheStoreAnswersOtherwise(t *testing.T) {
	q := newFakeQueue()
	down := fmt.Errorf("postgres: %w: connection refused", hookshot.ErrStorageUnavailable)
	var callsForA atomic.Int32
	q.onRecord = func(_ context.Context, _ int, results []*hookshot.Result) error {
		if results[0].Attempt.DeliveryID != "a" {
			return nil
		}
		if callsForA.Add(1) <= 2 {
			return down
		}
		return errors.New("a value the store refuses")
	}
	rc := newReceiver(t, nil)
	e := New(q, testConfig())
	e.recordPause = time.Millisecond
	for _, o := range []*outage{e.claims, e.records} {
		o.min, o.max = time.Millisecond, 4*time.Millisecond
	}
	e.Start()
	t.Cleanup(func() { _, _ = stopTimed(t, e, 5*time.Second) })
	q.add(newJob("a", 1, rc.URL))
	e.Notify()
	// The tries of the outage count with the others: eight in all.
	q.waitUntil(t, "a's recording to be given up", func() bool { return q.recordCalls == e.recordTries })
	q.add(newJob("b", 2, rc.URL))
	e.Notify()
	q.waitFinished(t, "b")
	q.locked(func() {
		if _, done := q.finished["a"]; done {
			t.Fatal("a was recorded though the store refused it")
		}
	})
}
