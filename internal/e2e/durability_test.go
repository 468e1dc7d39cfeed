package e2e

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// After SIGKILL in the middle of delivering and a restart, every accepted
// event still reaches its receiver at least once.
func TestNothingAcceptedIsLostAfterSIGKILL(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// The first few attempts are answered and the rest held until the
		// kill, so however fast or slow this machine is, attempts are in
		// flight when it comes and most deliveries are still queued. Only
		// answered requests count as delivered: a held one's process is
		// killed before it could read the answer. Attempts time out while
		// held, and on a busy machine some time out after the restart too
		// (a cold -race build beside it took a 1s timeout past its three
		// attempts), so the timeout is 3s and the schedule long enough that
		// no delivery runs out of attempts; the short lease lets the
		// restart take over the attempts in flight soon after the kill.
		schedule := strings.TrimSuffix(strings.Repeat("100ms,", 100), ",")
		h := start(t, b.database(t), "HOOKSHOT_DELIVERY_TIMEOUT=3s", "HOOKSHOT_LEASE=6s", "HOOKSHOT_WEBHOOK_CONCURRENCY=4", "HOOKSHOT_RETRY_SCHEDULE="+schedule)
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		const answered = 10
		var requests atomic.Int32
		gate := make(chan struct{})
		var open sync.Once
		t.Cleanup(func() { open.Do(func() { close(gate) }) })
		var mu sync.Mutex
		delivered := map[string]bool{}
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			n := requests.Add(1)
			select {
			case <-gate: // opened after the kill: the restarted process sent this
			default:
				if n > answered {
					<-gate
					return
				}
			}
			mu.Lock()
			delivered[r.Header.Get("X-ActiGraph-Delivery")] = true
			mu.Unlock()
		})
		const n = 150
		want := map[string]bool{}
		for i := 0; i < n; i++ {
			pub := h.publish(t, 189, "upload", uploadPayload(189, "started", i))
			want[pub.Deliveries[0].ID] = true
		}
		waitFor(t, 20*time.Second, "attempts held in flight", func() bool { return requests.Load() > answered })
		h.Kill()
		held := requests.Load() - answered
		open.Do(func() { close(gate) })
		h.Restart()
		waitFor(t, 60*time.Second, "every delivery after the restart", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for id := range want {
				if !delivered[id] {
					return false
				}
			}
			return true
		})
		// And the records agree: every delivery succeeded.
		for id := range want {
			if d := h.waitDelivery(t, 189, hook.ID, id, "succeeded"); len(d.Attempts) == 0 {
				t.Fatalf("delivery %s has no recorded attempt", id)
			}
		}
		t.Logf("%d of %d answered and %d held before SIGKILL; all %d delivered after restart (%d requests in all)", answered, n, held, n, len(rc.Events()))
	})
}

// SIGTERM lets attempts in flight finish and be recorded before the
// process exits; nothing is left leased, so a restart carries on at once.
func TestGracefulShutdownFinishesAttemptsInFlight(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// The receiver holds every attempt until the process is shutting
		// down; under load that can take seconds, so the attempts' timeout
		// is far longer than the hold, and only the shutdown ends them.
		h := start(t, b.database(t), "HOOKSHOT_DELIVERY_TIMEOUT=20s", "HOOKSHOT_LEASE=60s")
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		release := make(chan struct{})
		var once sync.Once
		// A test that fails early still lets the handlers return, or the
		// receiver's Close would wait for them forever.
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			<-release
		})
		var ids []string
		for i := 0; i < 40; i++ {
			ids = append(ids, h.publish(t, 189, "upload", uploadPayload(189, "started", i)).Deliveries[0].ID)
		}
		waitFor(t, 10*time.Second, "attempts in flight", func() bool { return len(rc.Events()) >= 16 })
		stopped := make(chan struct{})
		go func() { h.Stop(); close(stopped) }()
		waitFor(t, 10*time.Second, "the process to take SIGTERM", func() bool {
			return strings.Contains(h.Logs(), `msg="shutting down"`)
		})
		once.Do(func() { close(release) })
		<-stopped
		inFlight := len(rc.Events())
		rc.setHandler(nil)
		// With a 60s lease, anything left leased would not go out within
		// the wait below: the restart must find every delivery free.
		h.Restart()
		for _, id := range ids {
			d := h.waitDelivery(t, 189, hook.ID, id, "succeeded")
			for _, a := range d.Attempts {
				if a.Error != nil {
					t.Fatalf("delivery %s has a failed attempt after a graceful stop: %s", id, *a.Error)
				}
			}
		}
		t.Logf("%d attempts were in flight at SIGTERM; all finished and recorded", inFlight)
	})
}

// A receiver that hangs until the timeout uses up its own share only:
// another webhook's deliveries go out meanwhile.
func TestHangingReceiverDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// The slow receiver's timeout is long enough that a busy machine
		// delivering the fast one's 20 events cannot come near it.
		h := start(t, b.database(t), "HOOKSHOT_DELIVERY_TIMEOUT=10s", "HOOKSHOT_LEASE=25s", "HOOKSHOT_WEBHOOK_CONCURRENCY=4", "HOOKSHOT_CONCURRENCY=16")
		slow, fast := newReceiver(t), newReceiver(t)
		unblock := make(chan struct{})
		t.Cleanup(func() { close(unblock) })
		h.validatedWebhook(t, 189, hookBody(slow.URL, "upload"))
		slow.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			select {
			case <-unblock:
			case <-r.Context().Done():
			}
		})
		h.validatedWebhook(t, 190, hookBody(fast.URL, "upload"))
		// Flood the slow webhook with more than the whole process may
		// have in flight, then publish to the fast one.
		for i := 0; i < 40; i++ {
			h.publish(t, 189, "upload", uploadPayload(189, "started", i))
		}
		waitFor(t, 10*time.Second, "the slow receiver to be busy", func() bool { return len(slow.Events()) >= 4 })
		start := time.Now()
		for i := 0; i < 20; i++ {
			h.publish(t, 190, "upload", uploadPayload(190, "started", i))
		}
		fast.waitEvents(t, 20)
		if took := time.Since(start); took > 8*time.Second {
			t.Fatalf("the fast webhook waited %s, as long as the slow one's timeout", took)
		}
		if n := len(slow.Events()); n > 4 {
			t.Fatalf("the slow webhook had %d attempts in flight, over its cap of 4", n)
		}
		t.Logf("20 deliveries to the fast receiver took %s while the slow one hung", time.Since(start))
	})
}

// A fresh checkout: no settings but a token; serve creates its SQLite
// database and key and answers.
func TestFreshStartCreatesDatabaseAndKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := &Hookshot{t: t, env: []string{"PATH=/usr/bin:/bin", "HOOKSHOT_ADDR=127.0.0.1:0", "HOOKSHOT_ADMIN_TOKEN=" + adminToken}}
	h.launchIn(dir)
	t.Cleanup(h.Kill)
	h.call("GET", "/healthz", nil).must(t, 200)
	h.call("GET", "/readyz", nil).must(t, 200)
	var types listJSON[map[string]any]
	h.call("GET", "/v1/event-types", nil).must(t, 200).JSON(t, &types)
	if len(types.Items) != 5 {
		t.Fatalf("%d event types, want 5", len(types.Items))
	}
	for _, ty := range types.Items {
		if ty["name"] == nil || ty["schema"] == nil {
			t.Fatalf("event type without name or schema: %v", ty)
		}
	}
	for _, f := range []string{"hookshot.db", "hookshot.db.key"} {
		if !fileExists(dir + "/" + f) {
			t.Fatalf("%s was not created", f)
		}
	}
	info := fileMode(t, dir+"/hookshot.db.key")
	if info&0o077 != 0 {
		t.Fatalf("key file mode %o is readable by others", info)
	}
	key, err := os.ReadFile(dir + "/hookshot.db.key")
	if err != nil {
		t.Fatal(err)
	}
	h.Stop()
	// Restarted, it keeps its key, so credentials stored before still open.
	h.launchIn(dir)
	h.call("GET", "/readyz", nil).must(t, 200)
	again, err := os.ReadFile(dir + "/hookshot.db.key")
	if err != nil || string(again) != string(key) {
		t.Fatalf("the key changed across a restart (%v)", err)
	}
}
