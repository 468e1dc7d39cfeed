package e2e

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookshot/hookshot/internal/pgtest"
)

// postgresOnly returns a fresh PostgreSQL database URL, skipping (or, in
// CI, failing) when there is none.
func postgresOnly(t *testing.T) string {
	t.Helper()
	if os.Getenv("HOOKSHOT_TEST_POSTGRES") == "" && os.Getenv("CI") != "true" {
		t.Skip("HOOKSHOT_TEST_POSTGRES is not set")
	}
	return pgtest.URL(t)
}

// overlapReceiver counts requests per delivery GUID and notices when one
// GUID is being attempted twice at the same moment.
type overlapReceiver struct {
	*receiver
	mu       sync.Mutex
	inFlight map[string]int
	seen     map[string]int
	overlaps atomic.Int32
}

func newOverlapReceiver(t *testing.T, work time.Duration) *overlapReceiver {
	o := &overlapReceiver{receiver: newReceiver(t), inFlight: map[string]int{}, seen: map[string]int{}}
	o.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
		id := r.Header.Get("X-ActiGraph-Delivery")
		o.mu.Lock()
		o.inFlight[id]++
		if o.inFlight[id] > 1 {
			o.overlaps.Add(1)
		}
		o.seen[id]++
		o.mu.Unlock()
		time.Sleep(work)
		o.mu.Lock()
		o.inFlight[id]--
		o.mu.Unlock()
	})
	return o
}

func (o *overlapReceiver) has(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[id] > 0
}

// cluster starts n serve processes on one database.
func cluster(t *testing.T, db string, n int, extra ...string) []*Hookshot {
	var hs []*Hookshot
	for i := 0; i < n; i++ {
		hs = append(hs, start(t, db, append([]string{"HOOKSHOT_LOG_LEVEL=info"}, extra...)...))
	}
	return hs
}

// Three processes on one PostgreSQL share a few thousand deliveries: every
// one arrives, none is attempted twice at once, and each process does part
// of the work. Then again with one process killed halfway.
func TestSeveralProcessesShareTheWork(t *testing.T) {
	t.Parallel()
	for _, kill := range []bool{false, true} {
		name := "all running"
		if kill {
			name = "one killed halfway"
		}
		// One after the other, not in parallel: each is three processes
		// with pools of up to 16 connections, and both at once beside the
		// other tests would come near PostgreSQL's default of 100.
		t.Run(name, func(t *testing.T) {
			db := postgresOnly(t)
			hs := cluster(t, db, 3, "HOOKSHOT_DELIVERY_TIMEOUT=2s", "HOOKSHOT_LEASE=3s", "HOOKSHOT_WEBHOOK_CONCURRENCY=8")
			const receivers, events = 10, 300
			var rcs []*overlapReceiver
			var hooks []webhookJSON
			for i := 0; i < receivers; i++ {
				rc := newOverlapReceiver(t, 2*time.Millisecond)
				rcs = append(rcs, rc)
				// Spread webhook creation over the processes too.
				hooks = append(hooks, hs[i%3].validatedWebhook(t, 189, hookBody(rc.URL, "upload")))
			}
			byHook := map[int64]*overlapReceiver{}
			for i, h := range hooks {
				byHook[h.ID] = rcs[i]
			}
			type sent struct {
				id      string
				webhook int64
			}
			var mu sync.Mutex
			var all []sent
			var wg sync.WaitGroup
			for p := 0; p < 3; p++ {
				through := hs[p]
				if kill && p == 2 {
					// The process about to die takes no publishes: a
					// publish it never answered was never accepted.
					through = hs[0]
				}
				wg.Add(1)
				go func(h *Hookshot) {
					defer wg.Done()
					for i := 0; i < events/3; i++ {
						pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", i))
						mu.Lock()
						for _, d := range pub.Deliveries {
							all = append(all, sent{d.ID, d.WebhookID})
						}
						mu.Unlock()
					}
				}(through)
			}
			if kill {
				waitFor(t, 30*time.Second, "a third of the deliveries", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return len(all) >= events*receivers/3
				})
				hs[2].Kill()
			}
			wg.Wait()
			if len(all) != events*receivers {
				t.Fatalf("%d deliveries published, want %d", len(all), events*receivers)
			}
			waitFor(t, 90*time.Second, "every delivery to arrive", func() bool {
				for _, s := range all {
					if !byHook[s.webhook].has(s.id) {
						return false
					}
				}
				return true
			})
			overlaps := 0
			for _, rc := range rcs {
				overlaps += int(rc.overlaps.Load())
			}
			if overlaps > 0 {
				t.Fatalf("%d times a delivery was attempted twice at the same moment", overlaps)
			}
			alive := hs
			if kill {
				alive = hs[:2]
			}
			var shares []int64
			for _, h := range alive {
				n := metricOf(t, h, `hookshot_attempts_total{outcome="succeeded"}`)
				shares = append(shares, n)
				if n == 0 {
					t.Fatalf("a process made no attempts: shares %v", shares)
				}
			}
			// Every delivery is recorded as succeeded, whichever process
			// made or finished it.
			waitFor(t, 30*time.Second, "every delivery recorded", func() bool {
				var page listJSON[deliveryJSON]
				for _, h := range hooks {
					hs[0].call("GET", fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries?status=in_progress&limit=1", h.ID), nil).must(t, 200).JSON(t, &page)
					if len(page.Items) > 0 {
						return false
					}
				}
				return true
			})
			t.Logf("%d deliveries by %d processes, attempts per process %v", len(all), len(alive), shares)
		})
	}
}

// A publish through one process wakes the others at once through
// LISTEN/NOTIFY: with polling set to a minute, a second process still
// takes part within moments.
func TestWakeupsCrossProcesses(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	a := start(t, db, "HOOKSHOT_CONCURRENCY=1", "HOOKSHOT_POLL_INTERVAL=1m")
	b := start(t, db, "HOOKSHOT_POLL_INTERVAL=1m")
	rc := newOverlapReceiver(t, 50*time.Millisecond)
	hook := a.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	startAt := time.Now()
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, a.publish(t, 189, "upload", uploadPayload(189, "started", i)).Deliveries[0].ID)
	}
	for _, id := range ids {
		a.waitDelivery(t, 189, hook.ID, id, "succeeded")
	}
	took := time.Since(startAt)
	byB := metricOf(t, b, `hookshot_attempts_total{outcome="succeeded"}`)
	if byB == 0 {
		t.Fatal("the second process never woke up for work published through the first")
	}
	if took > 30*time.Second {
		t.Fatalf("40 deliveries took %s: the second process waited for its poll", took)
	}
	t.Logf("process B made %d of 40 attempts; all done in %s", byB, took)
}

// Idempotency keys hold across processes.
func TestIdempotencyAcrossProcesses(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	hs := cluster(t, db, 2)
	rc := newReceiver(t)
	hook := hs[0].validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	payload := uploadPayload(189, "started", 1)
	first := hs[0].publish(t, 189, "upload", payload, "Idempotency-Key", "k-1")
	second := hs[1].publish(t, 189, "upload", payload, "Idempotency-Key", "k-1")
	if fmt.Sprint(first) != fmt.Sprint(second) || len(first.Deliveries) != 1 {
		t.Fatalf("second process answered %+v, first %+v; want the same single delivery", second, first)
	}
	// One delivery in the store, recorded: no other request can come.
	hs[1].waitSucceeded(t, 189, first)
	if n := hs[1].deliveryCount(t, 189, hook.ID, "upload"); n != 1 {
		t.Fatalf("%d deliveries for one idempotent event", n)
	}
	if n := len(rc.Events()); n != 1 {
		t.Fatalf("%d requests for one idempotent event", n)
	}
}
