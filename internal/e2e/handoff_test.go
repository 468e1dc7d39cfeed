package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// A publish hands what its engine can start at once straight to it, leased
// in the publish's transaction: the attempts start without a claim. Killed
// with such attempts in flight, the process loses nothing: the deliveries
// are leased like claimed ones, and after the restart (leases released at
// start on SQLite, run out on PostgreSQL) they are delivered.
func TestHandedOffDeliveriesSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		schedule := strings.TrimSuffix(strings.Repeat("100ms,", 100), ",")
		h := start(t, b.database(t), "HOOKSHOT_DELIVERY_TIMEOUT=3s", "HOOKSHOT_LEASE=6s", "HOOKSHOT_RETRY_SCHEDULE="+schedule)
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		gate := make(chan struct{})
		var open sync.Once
		t.Cleanup(func() { open.Do(func() { close(gate) }) })
		var mu sync.Mutex
		delivered := map[string]bool{}
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			select {
			case <-gate: // opened after the kill: the restarted process sent this
			default:
				<-gate
				return
			}
			mu.Lock()
			delivered[r.Header.Get("X-ActiGraph-Delivery")] = true
			mu.Unlock()
		})
		// Publish one at a time until some were handed over; a publish
		// that finds the engine behind (a claim not yet caught up) leaves
		// its delivery for a claim, and that is held too.
		const series = "hookshot_deliveries_handed_off_total"
		var want []string
		for i := 0; i < 50 && h.metric(t, series) < 3; i++ {
			pub := h.publish(t, 189, "upload", uploadPayload(189, "started", i))
			want = append(want, pub.Deliveries[0].ID)
			time.Sleep(20 * time.Millisecond)
		}
		handed := h.metric(t, series)
		if handed < 3 {
			t.Fatalf("%v of %d deliveries handed over, want 3", handed, len(want))
		}
		waitFor(t, 20*time.Second, "every attempt in flight", func() bool { return len(rc.Events()) >= min(len(want), 16) })
		h.Kill()
		open.Do(func() { close(gate) })
		h.Restart()
		waitFor(t, 60*time.Second, "every delivery after the restart", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range want {
				if !delivered[id] {
					return false
				}
			}
			return true
		})
		for _, id := range want {
			if d := h.waitDelivery(t, 189, hook.ID, id, "succeeded"); len(d.Attempts) == 0 {
				t.Fatalf("delivery %s has no recorded attempt", id)
			}
		}
		t.Logf("%v of %d deliveries handed over and held at SIGKILL; all delivered after the restart", handed, len(want))
	})
}

// A publish answered under its Idempotency-Key hands nothing over: the
// engine was handed the first publish's delivery only, and the receiver
// got the event once. (The hand-off happens before the publish answers,
// so the counter read after the replay's answer is final.)
func TestReplayedPublishHandsNothingOver(t *testing.T) {
	t.Parallel()
	h := start(t, "")
	rc := newReceiver(t)
	h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	const series = "hookshot_deliveries_handed_off_total"
	// A publish that finds the engine behind leaves its delivery for a
	// claim: publish under new keys until one is handed over.
	var first publishJSON
	var key string
	var payload []byte
	for i := 0; i < 50 && key == ""; i++ {
		before := h.metric(t, series)
		k := fmt.Sprintf("upload-%d", i)
		payload = uploadPayload(189, "started", i)
		first = h.publish(t, 189, "upload", payload, "Idempotency-Key", k)
		h.waitSucceeded(t, 189, first)
		if h.metric(t, series) > before {
			key = k
		}
	}
	if key == "" {
		t.Fatal("no publish was handed over")
	}
	handed := h.metric(t, series)
	again := h.publish(t, 189, "upload", payload, "Idempotency-Key", key)
	if again.ID != first.ID {
		t.Fatalf("the replay answered event %s, want %s", again.ID, first.ID)
	}
	if n := h.metric(t, series); n != handed {
		t.Fatalf("%v deliveries handed over after the replay, want %v", n, handed)
	}
	copies := 0
	for _, e := range rc.Events() {
		if e.Header.Get("X-ActiGraph-Delivery") == first.Deliveries[0].ID {
			copies++
		}
	}
	if copies != 1 {
		t.Fatalf("the receiver got the event %d times, want once", copies)
	}
}
