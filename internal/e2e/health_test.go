package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// healthWebhookJSON is the webhook JSON's health and disabled reason.
type healthWebhookJSON struct {
	ID     int64 `json:"id"`
	Active bool  `json:"active"`
	Health struct {
		LastSuccessAt       *time.Time `json:"last_success_at"`
		LastFailureAt       *time.Time `json:"last_failure_at"`
		FailingSince        *time.Time `json:"failing_since"`
		ConsecutiveFailures int        `json:"consecutive_failures"`
		Last24h             struct {
			Attempts int `json:"attempts"`
			Failures int `json:"failures"`
		} `json:"last_24h"`
	} `json:"health"`
	DisabledReason *struct {
		Code  string    `json:"code"`
		Since time.Time `json:"since"`
	} `json:"disabled_reason"`
}

func (h *Hookshot) health(t *testing.T, study, id int64) healthWebhookJSON {
	t.Helper()
	var w healthWebhookJSON
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d", study, id), nil).must(t, http.StatusOK).JSON(t, &w)
	return w
}

// waitDisabled waits until the service has disabled the webhook.
func (h *Hookshot) waitDisabled(t *testing.T, study, id int64) healthWebhookJSON {
	t.Helper()
	var w healthWebhookJSON
	waitFor(t, 30*time.Second, fmt.Sprintf("webhook %d to be disabled", id), func() bool {
		w = h.health(t, study, id)
		return !w.Active
	})
	return w
}

func webhookPath(study, id int64, rest string) string {
	return fmt.Sprintf("/v1/studies/%d/webhooks/%d%s", study, id, rest)
}

// A receiver that keeps failing is disabled once every attempt has failed
// for HOOKSHOT_DISABLE_AFTER with at least 5 of them; its delivery is
// held meanwhile and, once it is enabled and the receiver is back, it is
// delivered. Health follows all along.
func TestEndpointAutoDisableAfterFailing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_DISABLE_AFTER=1s",
			"HOOKSHOT_RETRY_SCHEDULE="+strings.Repeat("250ms,", 29)+"250ms")
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if down.Load() {
				http.Error(w, "down for maintenance", http.StatusInternalServerError)
			}
		})
		const study = 610
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		pub := h.publish(t, study, "upload", uploadPayload(study, "completed", 1))
		id := pub.Deliveries[0].ID

		w := h.waitDisabled(t, study, hook.ID)
		if w.DisabledReason == nil || w.DisabledReason.Code != "failing" {
			t.Fatalf("disabled with reason %+v, want failing", w.DisabledReason)
		}
		hl := w.Health
		if hl.ConsecutiveFailures < 5 || hl.FailingSince == nil || hl.LastFailureAt == nil || hl.LastSuccessAt != nil ||
			hl.LastFailureAt.Sub(*hl.FailingSince) < time.Second || hl.Last24h.Failures != hl.ConsecutiveFailures || hl.Last24h.Attempts != hl.Last24h.Failures {
			t.Fatalf("health when disabled: %+v", hl)
		}
		if d := h.delivery(t, study, hook.ID, id); d.Status != "in_progress" || d.AttemptCount != hl.ConsecutiveFailures {
			t.Fatalf("delivery when the webhook was disabled: %s with %d attempts, want in progress with %d", d.Status, d.AttemptCount, hl.ConsecutiveFailures)
		}
		var trail listJSON[struct {
			Actor, Action, Target, Detail string
		}]
		h.call("GET", fmt.Sprintf("/v1/audit?study_id=%d", study), nil).must(t, http.StatusOK).JSON(t, &trail)
		if len(trail.Items) == 0 || trail.Items[0].Actor != "system" || trail.Items[0].Action != "disabled" || trail.Items[0].Target != "webhook "+itoa(hook.ID) {
			t.Fatalf("audit trail %+v; want the newest entry: system disabled the webhook", trail.Items)
		}
		waitFor(t, 10*time.Second, "the WARN line", func() bool {
			return strings.Contains(h.Logs(), fmt.Sprintf(`level=WARN msg="webhook disabled" component=delivery webhook_id=%d study_id=%d reason=failing`, hook.ID, study))
		})
		if n := metricOf(t, h, `hookshot_webhooks_disabled_total{reason="failing"}`); n != 1 {
			t.Fatalf("hookshot_webhooks_disabled_total{reason=failing} = %d, want 1", n)
		}
		// Held: an event of another webhook published now is delivered,
		// so the engine has claimed since the held delivery fell due.
		held := len(rc.Events())
		other := newReceiver(t)
		otherHook := h.validatedWebhook(t, study+1, hookBody(other.URL, "upload"))
		h.waitSucceeded(t, study+1, h.publish(t, study+1, "upload", uploadPayload(study+1, "completed", 2)))
		if got := len(rc.Events()); got != held {
			t.Fatalf("the disabled webhook's receiver got %d more requests", got-held)
		}
		_ = otherHook

		down.Store(false)
		var enabled healthWebhookJSON
		h.call("POST", webhookPath(study, hook.ID, "/enable"), nil).must(t, http.StatusOK).JSON(t, &enabled)
		if !enabled.Active || enabled.DisabledReason != nil || enabled.Health.ConsecutiveFailures != 0 || enabled.Health.FailingSince != nil {
			t.Fatalf("enabled webhook: %+v", enabled)
		}
		d := h.waitDelivery(t, study, hook.ID, id, "succeeded")
		if d.AttemptCount != held+1 {
			t.Fatalf("delivered after %d attempts, want %d", d.AttemptCount, held+1)
		}
		waitFor(t, 10*time.Second, "health to show the success", func() bool {
			hl := h.health(t, study, hook.ID).Health
			return hl.LastSuccessAt != nil && hl.ConsecutiveFailures == 0 && hl.Last24h.Attempts == held+1
		})
	})
}

// A 410 disables the webhook at once; a delivery in progress is held
// while it is disabled and goes out, on its schedule, once enabled.
// With HOOKSHOT_DISABLE_ON_GONE=false a 410 is an ordinary failure.
func TestEndpointGoneDisablesAndHolds(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=1s,1s")
		var status atomic.Int32
		status.Store(http.StatusInternalServerError)
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if strings.Contains(string(body), `"uploadId": "2"`) {
				w.WriteHeader(http.StatusGone)
				return
			}
			w.WriteHeader(int(status.Load()))
		})
		const study = 620
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		first := h.publish(t, study, "upload", uploadPayload(study, "completed", 1)).Deliveries[0].ID
		rc.waitEvents(t, 1)
		gone := h.publish(t, study, "upload", uploadPayload(study, "completed", 2)).Deliveries[0].ID
		h.waitDelivery(t, study, hook.ID, gone, "failed")
		w := h.waitDisabled(t, study, hook.ID)
		if w.DisabledReason == nil || w.DisabledReason.Code != "gone" {
			t.Fatalf("disabled with reason %+v, want gone", w.DisabledReason)
		}
		if n := metricOf(t, h, `hookshot_webhooks_disabled_total{reason="gone"}`); n != 1 {
			t.Fatalf("hookshot_webhooks_disabled_total{reason=gone} = %d, want 1", n)
		}
		// A disabled webhook gets no new deliveries.
		if pub := h.publish(t, study, "upload", uploadPayload(study, "completed", 3)); len(pub.Deliveries) != 0 {
			t.Fatalf("publish to a disabled webhook made deliveries %+v", pub.Deliveries)
		}
		d := h.delivery(t, study, hook.ID, first)
		if d.Status != "in_progress" || d.NextAttemptAt == nil {
			t.Fatalf("first delivery %+v, want in progress", d)
		}
		// Once it is due, another webhook's later delivery goes out; the
		// held one does not.
		waitFor(t, 10*time.Second, "the held delivery to fall due", func() bool { return time.Now().After(d.NextAttemptAt.Add(100 * time.Millisecond)) })
		other := newReceiver(t)
		h.validatedWebhook(t, study+1, hookBody(other.URL, "upload"))
		h.waitSucceeded(t, study+1, h.publish(t, study+1, "upload", uploadPayload(study+1, "completed", 4)))
		if got := h.delivery(t, study, hook.ID, first); got.AttemptCount != 1 || got.Status != "in_progress" {
			t.Fatalf("held delivery: %s after %d attempts, want in progress after 1", got.Status, got.AttemptCount)
		}

		status.Store(http.StatusOK)
		h.call("POST", webhookPath(study, hook.ID, "/enable"), nil).must(t, http.StatusOK)
		if got := h.waitDelivery(t, study, hook.ID, first, "succeeded"); got.AttemptCount != 2 {
			t.Fatalf("after enabling: %d attempts, want 2", got.AttemptCount)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		h := start(t, "sqlite:"+t.TempDir()+"/h.db", "HOOKSHOT_DISABLE_ON_GONE=false", "HOOKSHOT_RETRY_SCHEDULE=50ms")
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(http.StatusGone) })
		hook := h.validatedWebhook(t, 630, hookBody(rc.URL, "upload"))
		id := h.publish(t, 630, "upload", uploadPayload(630, "completed", 1)).Deliveries[0].ID
		if d := h.waitDelivery(t, 630, hook.ID, id, "failed"); d.AttemptCount != 2 {
			t.Fatalf("410 with DISABLE_ON_GONE=false: %d attempts, want the schedule's 2", d.AttemptCount)
		}
		if w := h.health(t, 630, hook.ID); !w.Active || w.DisabledReason != nil {
			t.Fatalf("webhook after 410s: %+v, want enabled", w)
		}
	})
}

// A 429 or 503 with Retry-After puts the next attempt no earlier than it
// says, in seconds or as an HTTP date; the attempt still counts.
func TestEndpointRetryAfter(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=100ms,100ms")
		var calls atomic.Int32
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
			switch calls.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
			case 2:
				w.Header().Set("Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		const study = 640
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		id := h.publish(t, study, "upload", uploadPayload(study, "completed", 1)).Deliveries[0].ID
		d := h.waitDelivery(t, study, hook.ID, id, "succeeded")
		got := rc.Events()
		if len(got) != 3 || d.AttemptCount != 3 {
			t.Fatalf("%d requests, %d attempts; want 3", len(got), d.AttemptCount)
		}
		if gap := got[1].At.Sub(got[0].At); gap < 2*time.Second {
			t.Errorf("Retry-After: 2 was followed after %s", gap)
		}
		// An HTTP date has whole seconds: at least 2s of the 3 remain.
		if gap := got[2].At.Sub(got[1].At); gap < 2*time.Second {
			t.Errorf("a Retry-After date 3s ahead was followed after %s", gap)
		}
		if e := d.Attempts[0].Error; e == nil || !strings.Contains(*e, "retry after 2s") {
			t.Errorf("first attempt's error %v, want it to say retry after 2s", e)
		}
	})
}

// Resend of a delivery in progress makes it due at once and keeps its
// remaining retries.
func TestEndpointRetryNow(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=1h,1h")
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if down.Load() {
				w.WriteHeader(http.StatusBadGateway)
			}
		})
		const study = 650
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		id := h.publish(t, study, "upload", uploadPayload(study, "completed", 1)).Deliveries[0].ID
		rc.waitEvents(t, 1)
		waitFor(t, 10*time.Second, "the first attempt to be recorded", func() bool { return h.delivery(t, study, hook.ID, id).AttemptCount == 1 })
		path := webhookPath(study, hook.ID, "/deliveries/"+id+"/resend")
		var d deliveryJSON
		h.call("POST", path, nil).must(t, http.StatusAccepted).JSON(t, &d)
		if d.Status != "in_progress" || d.NextAttemptAt == nil || time.Until(*d.NextAttemptAt) > time.Second {
			t.Fatalf("retry now answered %+v", d)
		}
		rc.waitEvents(t, 2)
		waitFor(t, 10*time.Second, "the second attempt to be recorded", func() bool { return h.delivery(t, study, hook.ID, id).AttemptCount == 2 })
		d = h.delivery(t, study, hook.ID, id)
		// Still in progress, with both scheduled retries left: the next in
		// an hour.
		if d.Status != "in_progress" || d.NextAttemptAt == nil || time.Until(*d.NextAttemptAt) < 50*time.Minute {
			t.Fatalf("after a failed retry now: %+v, want in progress, due in about an hour", d)
		}
		down.Store(false)
		h.call("POST", path, nil).must(t, http.StatusAccepted)
		if d := h.waitDelivery(t, study, hook.ID, id, "succeeded"); d.AttemptCount != 3 {
			t.Fatalf("%d attempts, want 3", d.AttemptCount)
		}
	})
}

// Recover gives exactly the failed deliveries created in the window one
// more attempt.
func TestEndpointRecoverWindow(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=50ms")
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if down.Load() && !strings.Contains(string(body), `"uploadId": "3"`) {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		const study = 660
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		publishAndWait := func(n int, status string) string {
			id := h.publish(t, study, "upload", uploadPayload(study, "completed", n)).Deliveries[0].ID
			h.waitDelivery(t, study, hook.ID, id, status)
			return id
		}
		before := publishAndWait(1, "failed")
		since := time.Now()
		inside := []string{publishAndWait(2, "failed"), publishAndWait(4, "failed")}
		succeeded := publishAndWait(3, "succeeded")
		until := time.Now()
		after := publishAndWait(5, "failed")

		down.Store(false)
		body := map[string]any{"since": since.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano)}
		var out struct{ Recovered int }
		h.call("POST", webhookPath(study, hook.ID, "/recover"), body).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Recovered != 2 {
			t.Fatalf("recovered %d, want 2", out.Recovered)
		}
		for _, id := range inside {
			if d := h.waitDelivery(t, study, hook.ID, id, "succeeded"); d.AttemptCount != 3 {
				t.Fatalf("recovered delivery %s: %d attempts, want 3", id, d.AttemptCount)
			}
		}
		for id, want := range map[string]string{before: "failed", after: "failed", succeeded: "succeeded"} {
			if d := h.delivery(t, study, hook.ID, id); d.Status != want {
				t.Fatalf("delivery %s outside the recovery is %s, want %s", id, d.Status, want)
			}
		}
		// A second recovery finds nothing left failed in the window.
		h.call("POST", webhookPath(study, hook.ID, "/recover"), body).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Recovered != 0 {
			t.Fatalf("second recovery: %d, want 0", out.Recovered)
		}
		// Bad windows change nothing and say why.
		var p problemJSON
		h.call("POST", webhookPath(study, hook.ID, "/recover"), map[string]any{"until": until}).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "since" {
			t.Fatalf("recover without since: %+v", p)
		}
		h.call("POST", webhookPath(study, hook.ID, "/recover"), map[string]any{"since": "yesterday"}).must(t, http.StatusBadRequest)
		h.call("POST", webhookPath(study, hook.ID, "/recover"), map[string]any{"since": until, "until": since}).must(t, http.StatusUnprocessableEntity)
	})
}

// Replay delivers what a webhook missed while disabled and before it
// passed validation, by its subscription, once; a second replay adds
// none.
func TestEndpointReplay(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		const study = 670
		rc := newReceiver(t)
		late := newReceiver(t)
		late.setValidator(func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(http.StatusNotFound) })
		since := time.Now()
		body := hookBody(rc.URL, "upload")
		body["event_options"] = map[string]any{"upload": map[string]any{"statuses": []string{"completed"}}}
		hook := h.validatedWebhook(t, study, body)
		lateHook := h.createWebhook(t, study, hookBody(late.URL, "upload"))
		if w := h.waitValidation(t, study, lateHook.ID); w.Validation.Status != "failed" {
			t.Fatalf("late webhook's validation %s, want failed", w.Validation.Status)
		}
		delivered := h.publish(t, study, "upload", uploadPayload(study, "completed", 1))
		h.waitSucceeded(t, study, delivered)
		h.call("POST", webhookPath(study, hook.ID, "/disable"), nil).must(t, http.StatusOK)

		var p problemJSON
		h.call("POST", webhookPath(study, hook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusConflict).JSON(t, &p)
		if !strings.Contains(p.Detail, "enable it first") {
			t.Fatalf("replay while disabled: %+v", p)
		}
		h.call("POST", webhookPath(study, lateHook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusConflict)

		missed := map[string]bool{}
		for i, status := range []string{"completed", "started", "completed", "error"} {
			pub := h.publish(t, study, "upload", uploadPayload(study, status, 10+i))
			if len(pub.Deliveries) != 0 {
				t.Fatalf("publish while disabled and unvalidated made deliveries %+v", pub.Deliveries)
			}
			if status == "completed" {
				missed[pub.ID] = true
			}
		}
		h.publish(t, study+1, "upload", uploadPayload(study+1, "completed", 20))

		h.call("POST", webhookPath(study, hook.ID, "/enable"), nil).must(t, http.StatusOK)
		var out struct{ Replayed int }
		h.call("POST", webhookPath(study, hook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Replayed != len(missed) {
			t.Fatalf("replayed %d, want %d", out.Replayed, len(missed))
		}
		rc.waitEvents(t, 1+len(missed))
		h.call("POST", webhookPath(study, hook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Replayed != 0 {
			t.Fatalf("second replay: %d, want 0", out.Replayed)
		}
		var list listJSON[deliveryJSON]
		waitFor(t, 20*time.Second, "the replayed deliveries to succeed", func() bool {
			h.call("GET", webhookPath(study, hook.ID, "/deliveries?event=upload&status=succeeded"), nil).must(t, http.StatusOK).JSON(t, &list)
			return len(list.Items) == 1+len(missed)
		})
		seen := map[string]bool{}
		for _, d := range list.Items {
			if seen[*d.EventID] {
				t.Fatalf("event %s delivered twice", *d.EventID)
			}
			seen[*d.EventID] = true
		}
		for id := range missed {
			if !seen[id] {
				t.Fatalf("missed event %s was not replayed", id)
			}
		}
		if got := rc.Events(); len(got) != 1+len(missed) {
			t.Fatalf("receiver got %d events, want %d", len(got), 1+len(missed))
		}

		// The late webhook passes validation now and gets every upload of
		// the window it would have received: all five.
		late.setValidator(nil)
		h.call("POST", webhookPath(study, lateHook.ID, "/validate"), nil).must(t, http.StatusAccepted)
		if w := h.waitValidation(t, study, lateHook.ID); w.Validation.Status != "passed" {
			t.Fatalf("late validation %s", w.Validation.Status)
		}
		h.call("POST", webhookPath(study, lateHook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Replayed != 5 {
			t.Fatalf("late webhook replayed %d, want 5", out.Replayed)
		}
		late.waitEvents(t, 5)
		h.call("POST", webhookPath(study, lateHook.ID, "/replay"), map[string]any{"since": since}).must(t, http.StatusAccepted).JSON(t, &out)
		if out.Replayed != 0 {
			t.Fatalf("late webhook's second replay: %d, want 0", out.Replayed)
		}
	})
}

// Validations and manual resends of one webhook are limited to 10 a
// minute, answered 429 with Retry-After; another webhook has its own.
func TestEndpointManualLimit(t *testing.T) {
	t.Parallel()
	h := start(t, "sqlite:"+t.TempDir()+"/h.db")
	rc := newReceiver(t)
	const study = 680
	hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
	other := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
	id := h.publish(t, study, "upload", uploadPayload(study, "completed", 1)).Deliveries[0].ID
	h.waitDelivery(t, study, hook.ID, id, "succeeded")
	for i := range 10 {
		path := "/validate"
		if i%2 == 1 {
			path = "/deliveries/" + id + "/resend"
		}
		h.call("POST", webhookPath(study, hook.ID, path), nil).must(t, http.StatusAccepted)
	}
	// Replay needs the last validation to have passed before the limit
	// is even looked at.
	h.waitValidation(t, study, hook.ID)
	for _, path := range []string{"/validate", "/deliveries/" + id + "/resend", "/recover", "/replay"} {
		var body any
		if path == "/recover" || path == "/replay" {
			body = map[string]any{"since": time.Now().Add(-time.Hour)}
		}
		r := h.call("POST", webhookPath(study, hook.ID, path), body)
		var p problemJSON
		r.must(t, http.StatusTooManyRequests).JSON(t, &p)
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" || !strings.Contains(p.Detail, "try these") {
			t.Fatalf("%s over the limit: Retry-After %q, %+v", path, ra, p)
		}
	}
	h.call("POST", webhookPath(study, other.ID, "/validate"), nil).must(t, http.StatusAccepted)
}
