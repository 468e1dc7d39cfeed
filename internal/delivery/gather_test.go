package delivery

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// The recorder waits for the results of attempts under way, so that they
// share a transaction, and does not wait when none is under way.
func TestRecorderGathersResultsOfAttemptsUnderWay(t *testing.T) {
	e := New(nil, Config{BatchSize: 8})
	e.gatherFor = time.Minute // longer than the test: only the rules end a wait

	first, second := &hookshot.Result{Status: hookshot.DeliverySucceeded}, &hookshot.Result{Status: hookshot.DeliveryFailed}
	e.sending.Add(1)
	go func() {
		e.results <- second
		e.sending.Add(-1)
	}()
	batch, window := e.gather([]*hookshot.Result{first}, nil)
	if len(batch) != 2 || batch[0] != first || batch[1] != second {
		t.Fatalf("with an attempt under way the recorder took %d results, want both", len(batch))
	}

	// Nothing under way and nothing queued: it records at once. Were it
	// to wait, the test would run into its timeout.
	done := make(chan []*hookshot.Result)
	go func() {
		b, _ := e.gather([]*hookshot.Result{first}, window)
		done <- b
	}()
	select {
	case b := <-done:
		if len(b) != 1 {
			t.Fatalf("idle recorder took %d results, want 1", len(b))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the recorder waited for company with no attempt under way")
	}

	// A full batch is recorded without waiting for more.
	e.sending.Add(1)
	defer e.sending.Add(-1)
	full := make([]*hookshot.Result, 0, 8)
	for range 8 {
		full = append(full, first)
	}
	if b, _ := e.gather(full, window); len(b) != 8 {
		t.Fatalf("full batch came back with %d results", len(b))
	}
}
