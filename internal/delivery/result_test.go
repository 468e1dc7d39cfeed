package delivery

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// What happens to a delivery after an attempt: the schedule, the last
// attempt, a refused OAuth2 token, and validation.
func TestResultFollowsTheSchedule(t *testing.T) {
	schedule := []time.Duration{10 * time.Second, time.Minute, 24 * time.Hour, 24 * time.Hour}
	e := New(nil, Config{Schedule: schedule})
	cases := []struct {
		name       string
		event      string
		attempts   int // recorded before this one
		max        int
		out        outcome
		status     hookshot.DeliveryStatus
		wait       time.Duration
		max2       int
		validation hookshot.ValidationStatus
	}{
		{"first attempt succeeds", hookshot.EventUpload, 0, 5, outcome{ok: true}, hookshot.DeliverySucceeded, 0, 5, ""},
		{"first failure waits 10s", hookshot.EventUpload, 0, 5, outcome{}, hookshot.DeliveryInProgress, 10 * time.Second, 5, ""},
		{"second failure waits 60s", hookshot.EventUpload, 1, 5, outcome{}, hookshot.DeliveryInProgress, time.Minute, 5, ""},
		{"fourth failure waits 24h", hookshot.EventUpload, 3, 5, outcome{}, hookshot.DeliveryInProgress, 24 * time.Hour, 5, ""},
		{"fifth failure is final", hookshot.EventUpload, 4, 5, outcome{}, hookshot.DeliveryFailed, 0, 5, ""},
		{"a resend gets one attempt", hookshot.EventUpload, 5, 6, outcome{}, hookshot.DeliveryFailed, 0, 6, ""},
		{"a refused cached token retries at once", hookshot.EventUpload, 4, 5, outcome{staleToken: true}, hookshot.DeliveryInProgress, 0, 6, ""},
		{"validation passes", hookshot.EventValidation, 0, 1, outcome{ok: true}, hookshot.DeliverySucceeded, 0, 1, hookshot.ValidationPassed},
		{"validation fails at once", hookshot.EventValidation, 0, 1, outcome{}, hookshot.DeliveryFailed, 0, 1, hookshot.ValidationFailed},
		{"validation waits for a fresh token", hookshot.EventValidation, 0, 1, outcome{staleToken: true}, hookshot.DeliveryInProgress, 0, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &hookshot.Delivery{ID: "d", WebhookID: 7, Event: c.event, Attempts: c.attempts, MaxAttempts: c.max}
			c.out.attempt = &hookshot.Attempt{Number: c.attempts + 1}
			before := time.Now()
			r := e.result(&hookshot.Job{Delivery: d}, c.out)
			if r.Status != c.status || r.MaxAttempts != c.max2 {
				t.Fatalf("status %s max %d, want %s max %d", r.Status, r.MaxAttempts, c.status, c.max2)
			}
			wait := r.NextAttemptAt.Sub(before)
			if wait < c.wait-time.Second || wait > c.wait+time.Second {
				t.Fatalf("next attempt in %s, want %s", wait, c.wait)
			}
			switch {
			case c.validation == "" && r.Validation != nil:
				t.Fatalf("validation set to %s", *r.Validation)
			case c.validation != "" && (r.Validation == nil || *r.Validation != c.validation):
				t.Fatalf("validation %v, want %s", r.Validation, c.validation)
			}
		})
	}
}
