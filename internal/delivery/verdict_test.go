package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// What a verdict on attempt n makes of the delivery, by the schedule and
// the attempts left.
func TestResultForVerdict(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	schedule := []time.Duration{10 * time.Second, time.Minute, 24 * time.Hour, 24 * time.Hour}
	upload, validation := hookshot.EventUpload, hookshot.EventValidation
	passed, failed := hookshot.ValidationPassed, hookshot.ValidationFailed
	cases := []struct {
		name     string
		event    string
		schedule []time.Duration
		n, max   int // this attempt's number, and the delivery's attempts before it
		v        verdict
		status   hookshot.DeliveryStatus
		wait     time.Duration // from now to NextAttemptAt
		max2     int
		valid    *hookshot.ValidationStatus
	}{
		{"a first success", upload, schedule, 1, 5, verdict{next: succeeded}, hookshot.DeliverySucceeded, 0, 5, nil},
		{"a first failure waits 10s", upload, schedule, 1, 5, verdict{next: retry}, hookshot.DeliveryInProgress, 10 * time.Second, 5, nil},
		{"a second failure waits 60s", upload, schedule, 2, 5, verdict{next: retry}, hookshot.DeliveryInProgress, time.Minute, 5, nil},
		{"a fourth failure waits 24h", upload, schedule, 4, 5, verdict{next: retry}, hookshot.DeliveryInProgress, 24 * time.Hour, 5, nil},
		{"past the schedule's end the last wait repeats", upload, schedule, 7, 9, verdict{next: retry}, hookshot.DeliveryInProgress, 24 * time.Hour, 9, nil},
		{"the fifth failure is final", upload, schedule, 5, 5, verdict{next: retry}, hookshot.DeliveryFailed, 0, 5, nil},
		{"a resend gets one attempt", upload, schedule, 6, 6, verdict{next: retry}, hookshot.DeliveryFailed, 0, 6, nil},
		{"no schedule, no retries", upload, nil, 1, 5, verdict{next: retry}, hookshot.DeliveryFailed, 0, 5, nil},
		{"a verdict never decided retries", upload, schedule, 1, 5, verdict{}, hookshot.DeliveryInProgress, 10 * time.Second, 5, nil},
		{"retry now spends no attempt", upload, schedule, 5, 5, verdict{next: retryNow}, hookshot.DeliveryInProgress, 0, 6, nil},
		{"retry after waits longer than the schedule", upload, schedule, 1, 5, verdict{next: retryAfter, wait: 5 * time.Minute}, hookshot.DeliveryInProgress, 5 * time.Minute, 5, nil},
		{"retry after never comes before the schedule", upload, schedule, 2, 5, verdict{next: retryAfter, wait: time.Second}, hookshot.DeliveryInProgress, time.Minute, 5, nil},
		{"retry after is capped at 24h", upload, schedule, 1, 5, verdict{next: retryAfter, wait: 72 * time.Hour}, hookshot.DeliveryInProgress, 24 * time.Hour, 5, nil},
		{"retry after still spends an attempt", upload, schedule, 5, 5, verdict{next: retryAfter, wait: time.Minute}, hookshot.DeliveryFailed, 0, 5, nil},
		{"give up ends it with attempts left", upload, schedule, 1, 5, verdict{next: giveUp}, hookshot.DeliveryFailed, 0, 5, nil},
		{"disable fails the delivery", upload, schedule, 1, 5, verdict{next: disable}, hookshot.DeliveryFailed, 0, 5, nil},
		{"validation passes", validation, schedule, 1, 1, verdict{next: succeeded}, hookshot.DeliverySucceeded, 0, 1, &passed},
		{"a wrong handshake fails validation", validation, schedule, 1, 1, verdict{next: giveUp}, hookshot.DeliveryFailed, 0, 1, &failed},
		{"an unreachable receiver fails validation", validation, schedule, 1, 1, verdict{next: retry}, hookshot.DeliveryFailed, 0, 1, &failed},
		{"validation waits for a fresh token", validation, schedule, 1, 1, verdict{next: retryNow}, hookshot.DeliveryInProgress, 0, 2, nil},
		{"a gone receiver fails validation", validation, schedule, 1, 1, verdict{next: disable}, hookshot.DeliveryFailed, 0, 1, &failed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &hookshot.Delivery{ID: "d", WebhookID: 7, Event: c.event, Attempts: c.n - 1, MaxAttempts: c.max}
			att := &hookshot.Attempt{DeliveryID: "d", Number: c.n}
			r := resultFor(d, att, c.v, c.schedule, now)
			if r.Status != c.status || r.MaxAttempts != c.max2 {
				t.Fatalf("status %s max %d, want %s max %d", r.Status, r.MaxAttempts, c.status, c.max2)
			}
			if wait := r.NextAttemptAt.Sub(now); wait != c.wait {
				t.Fatalf("next attempt in %s, want %s", wait, c.wait)
			}
			if r.Attempt != att || r.WebhookID != 7 {
				t.Fatalf("result for attempt %v of webhook %d", r.Attempt, r.WebhookID)
			}
			switch {
			case c.valid == nil && r.Validation != nil:
				t.Fatalf("validation set to %s", *r.Validation)
			case c.valid != nil && (r.Validation == nil || *r.Validation != *c.valid):
				t.Fatalf("validation %v, want %s", r.Validation, *c.valid)
			}
		})
	}
}

// The verdicts the sender gives today, against real receivers.
func TestSenderVerdicts(t *testing.T) {
	answer := func(status int, header ...string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	secret := DefaultWire.HeaderPrefix + "Hook-Secret"
	cases := []struct {
		name  string
		event string
		url   string
		want  next
	}{
		{"a 2xx succeeds", hookshot.EventUpload, answer(http.StatusNoContent), succeeded},
		{"a 500 retries", hookshot.EventUpload, answer(http.StatusInternalServerError), retry},
		{"a 410 disables", hookshot.EventUpload, answer(http.StatusGone), disable},
		{"a 429 with Retry-After retries after", hookshot.EventUpload, answer(http.StatusTooManyRequests, "Retry-After", "120"), retryAfter},
		{"a 503 with an HTTP date retries after", hookshot.EventUpload, answer(http.StatusServiceUnavailable, "Retry-After", "Wed, 21 Oct 2065 07:28:00 GMT"), retryAfter},
		{"a 429 without Retry-After retries", hookshot.EventUpload, answer(http.StatusTooManyRequests), retry},
		{"a 500 with Retry-After retries", hookshot.EventUpload, answer(http.StatusInternalServerError, "Retry-After", "120"), retry},
		{"a 410 to validation gives up", hookshot.EventValidation, answer(http.StatusGone), giveUp},
		{"no connection retries", hookshot.EventUpload, gone.URL, retry},
		{"an echoed code passes validation", hookshot.EventValidation, answer(http.StatusOK, secret, "code"), succeeded},
		{"a wrong code gives up", hookshot.EventValidation, answer(http.StatusOK, secret, "other"), giveUp},
		{"no echo gives up", hookshot.EventValidation, answer(http.StatusOK), giveUp},
		{"a 500 to validation gives up", hookshot.EventValidation, answer(http.StatusInternalServerError, secret, "code"), giveUp},
		{"no connection for validation retries", hookshot.EventValidation, gone.URL, retry},
	}
	s := testSender()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob("d", 1, c.url)
			j.Delivery.Event, j.Delivery.ValidationCode = c.event, "code"
			att, v := s.send(context.Background(), j, 1)
			if v.next != c.want {
				t.Fatalf("verdict %s, want %s (error %q)", v.next, c.want, att.Error)
			}
			if (v.next == succeeded) != (att.Error == "") {
				t.Fatalf("verdict %s with error %q", v.next, att.Error)
			}
		})
	}
}

// A receiver refusing a cached OAuth2 token gets another attempt at once
// with a fresh one; refusing a fresh token is an ordinary failure.
func TestSenderRetriesNowWhenACachedTokenIsRefused(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":3600}`))
	}))
	t.Cleanup(tokens.Close)
	status := make(chan int, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(<-status) }))
	t.Cleanup(rc.Close)
	s := testSender()
	j := newJob("d", 1, rc.URL)
	j.Webhook.Auth = hookshot.Auth{Type: hookshot.AuthOAuth2, TokenURL: tokens.URL, ClientID: "c"}
	for i, step := range []struct {
		status int
		want   next
	}{
		{http.StatusOK, succeeded},          // fetches the token and caches it
		{http.StatusUnauthorized, retryNow}, // the cached token was refused
		{http.StatusUnauthorized, retry},    // so was the fresh one
	} {
		status <- step.status
		if _, v := s.send(context.Background(), j, i+1); v.next != step.want {
			t.Fatalf("attempt %d answered %d: verdict %s, want %s", i+1, step.status, v.next, step.want)
		}
	}
}

func testSender() *sender {
	client := loopbackClient()
	return &sender{client: client, wire: DefaultWire, timeout: 5 * time.Second, opener: noCredentials{}, tokens: newTokenCache(client), clock: clock.System{}}
}
