package e2e

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A receiver that fails twice then succeeds sees three attempts of one
// delivery, all under one GUID, each stored whole.
func TestRetriesKeepOneGUIDAndStoreEveryAttempt(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		var calls atomic.Int32
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if calls.Add(1) <= 2 {
				w.Header().Set("X-Reason", "not yet")
				http.Error(w, "try again later", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(`{"ok":true}`))
		})
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL+"/in", "upload"))
		payload := uploadPayload(189, "completed", 3)
		pub := h.publish(t, 189, "upload", payload)
		id := pub.Deliveries[0].ID
		d := h.waitDelivery(t, 189, hook.ID, id, "succeeded")
		got := rc.Events()
		if len(got) != 3 || len(d.Attempts) != 3 || d.AttemptCount != 3 {
			t.Fatalf("receiver saw %d requests and the API shows %d attempts, want 3", len(got), len(d.Attempts))
		}
		for i, g := range got {
			if g.Header.Get("X-ActiGraph-Delivery") != id {
				t.Fatalf("attempt %d carried delivery %q, want %q", i+1, g.Header.Get("X-ActiGraph-Delivery"), id)
			}
		}
		// The default-shaped schedule (200ms, 400ms here) spaces them out.
		if gap := got[1].At.Sub(got[0].At); gap < 150*time.Millisecond {
			t.Fatalf("first retry came after %s, want about 200ms", gap)
		}
		if gap := got[2].At.Sub(got[1].At); gap < 350*time.Millisecond {
			t.Fatalf("second retry came after %s, want about 400ms", gap)
		}
		for i, a := range d.Attempts {
			if a.Number != i+1 || a.Request.URL != rc.URL+"/in" || a.Request.Body != string(payload) || a.Request.Headers["X-ActiGraph-Delivery"] != id || a.StartedAt.IsZero() || a.DurationMS <= 0 {
				t.Fatalf("attempt %d stored as %+v", i+1, a)
			}
		}
		first := d.Attempts[0]
		if first.Response == nil || first.Response.Status != 503 || !strings.Contains(first.Response.Body, "try again later") || first.Response.Headers["X-Reason"] != "not yet" || first.Error == nil {
			t.Fatalf("failed attempt stored as %+v", first)
		}
		if last := d.Attempts[2]; last.Response.Status != 200 || last.Response.Body != `{"ok":true}` || last.Error != nil {
			t.Fatalf("successful attempt stored as %+v", last)
		}
	})
}

// After the schedule runs out the delivery is failed; timeouts and
// redirects count as failures; the reason is stored.
func TestFailureReasonsAndFinalFailure(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// A timeout well above what a busy machine takes for a quick answer
		// on the loopback, so that only the cases meant to time out do.
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=50ms", "HOOKSHOT_DELIVERY_TIMEOUT=2s", "HOOKSHOT_LEASE=5s")
		// The slow handlers hold until their subtest is over, not until
		// Hookshot gives up: over TLS, closing the connection first sends
		// close_notify, and a handler that returned on it could complete
		// its answer in that moment and turn the timeout into a success.
		cases := map[string]struct {
			handle func(w http.ResponseWriter, r *http.Request, hold <-chan struct{})
			reason string
		}{
			"server error": {func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { w.WriteHeader(500) }, "answered 500"},
			"redirect": {func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
				http.Redirect(w, r, "https://127.0.0.1:1/elsewhere", http.StatusFound)
			}, "answered 302"},
			"timeout": {func(w http.ResponseWriter, r *http.Request, hold <-chan struct{}) {
				<-hold
			}, "timed out after 2s"},
			"slow body": {func(w http.ResponseWriter, r *http.Request, hold <-chan struct{}) {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-hold // the body never ends in time
			}, "timed out"},
		}
		study := int64(500)
		for name, c := range cases {
			study++ // a study of its own, so each case's event has one webhook
			study := study
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				hold := make(chan struct{})
				t.Cleanup(func() { close(hold) }) // before the receiver's Close, which waits for handlers
				hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
				rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { c.handle(w, r, hold) })
				pub := h.publish(t, study, "upload", uploadPayload(study, "started", 9))
				d := h.waitDelivery(t, study, hook.ID, pub.Deliveries[0].ID, "failed")
				if len(d.Attempts) != 2 {
					t.Fatalf("%d attempts, want 2 (one retry in the schedule)", len(d.Attempts))
				}
				for _, a := range d.Attempts {
					if a.Error == nil || !strings.Contains(*a.Error, c.reason) {
						t.Fatalf("attempt error %v, want it to mention %q", a.Error, c.reason)
					}
				}
			})
		}
	})
}

// Resend gives a finished delivery one more attempt under the same GUID.
func TestResend(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=50ms")
		var fail atomic.Bool
		fail.Store(true)
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if fail.Load() {
				w.WriteHeader(500)
			}
		})
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		pub := h.publish(t, 189, "upload", uploadPayload(189, "error", 4))
		id := pub.Deliveries[0].ID
		h.waitDelivery(t, 189, hook.ID, id, "failed")
		path := "/v1/studies/189/webhooks/" + itoa(hook.ID) + "/deliveries/" + id + "/resend"

		fail.Store(false)
		var d deliveryJSON
		h.call("POST", path, nil).must(t, http.StatusAccepted).JSON(t, &d)
		if d.ID != id || d.Status != "in_progress" {
			t.Fatalf("resend answered %+v", d)
		}
		d = h.waitDelivery(t, 189, hook.ID, id, "succeeded")
		if len(d.Attempts) != 3 || d.Attempts[2].Response.Status != 200 {
			t.Fatalf("after resend: %d attempts", len(d.Attempts))
		}
		// A succeeded delivery can be resent too; one in progress is
		// retried now, or, while its attempt is under way, left to it.
		// The receiver holds the attempt until the second resend has been
		// answered, so the delivery is certainly still in progress then.
		hold := make(chan struct{})
		var release sync.Once
		t.Cleanup(func() { release.Do(func() { close(hold) }) })
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) { <-hold })
		sent := len(rc.Events())
		h.call("POST", path, nil).must(t, http.StatusAccepted)
		rc.waitEvents(t, sent+1)
		h.call("POST", path, nil).must(t, http.StatusAccepted)
		release.Do(func() { close(hold) })
		d = h.waitDelivery(t, 189, hook.ID, id, "succeeded")
		if len(d.Attempts) != 4 {
			t.Fatalf("%d attempts after the second resend, want 4", len(d.Attempts))
		}
		got := rc.Events()
		for _, g := range got {
			if g.Header.Get("X-ActiGraph-Delivery") != id {
				t.Fatal("resend used a different GUID")
			}
		}
	})
}
