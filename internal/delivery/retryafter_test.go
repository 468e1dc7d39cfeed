package delivery

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		value string
		wait  time.Duration
		ok    bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"padded", " 5 ", 5 * time.Second, true},
		{"more than the cap", "999999999999", maxRetryAfter, true},
		{"HTTP date", "Fri, 04 Dec 2026 12:10:00 GMT", 10 * time.Minute, true},
		{"HTTP date in the past", "Fri, 04 Dec 2026 11:00:00 GMT", 0, true},
		{"empty", "", 0, false},
		{"negative", "-5", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wait, ok := parseRetryAfter(c.value, now)
			if wait != c.wait || ok != c.ok {
				t.Fatalf("parseRetryAfter(%q) = %s, %v; want %s, %v", c.value, wait, ok, c.wait, c.ok)
			}
		})
	}
}

// A receiver's Retry-After moves the next attempt later than the
// schedule, never earlier, at most 24h, and still spends an attempt.
func TestResultForRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	schedule := []time.Duration{10 * time.Second, time.Minute}
	d := &hookshot.Delivery{ID: "d", WebhookID: 7, Event: hookshot.EventUpload, MaxAttempts: 3}
	cases := []struct {
		name   string
		number int
		wait   time.Duration
		next   time.Duration
		status hookshot.DeliveryStatus
	}{
		{"longer than the schedule", 1, time.Hour, time.Hour, hookshot.DeliveryInProgress},
		{"shorter than the schedule", 1, time.Second, 10 * time.Second, hookshot.DeliveryInProgress},
		{"capped", 2, 48 * time.Hour, maxRetryAfter, hookshot.DeliveryInProgress},
		{"no attempts left", 3, time.Hour, 0, hookshot.DeliveryFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := resultFor(d, &hookshot.Attempt{Number: c.number}, verdict{next: retryAfter, wait: c.wait}, schedule, now)
			if r.Status != c.status || r.NextAttemptAt.Sub(now) != c.next || r.MaxAttempts != d.MaxAttempts {
				t.Fatalf("status %s in %s (max %d); want %s in %s", r.Status, r.NextAttemptAt.Sub(now), r.MaxAttempts, c.status, c.next)
			}
		})
	}
	if r := resultFor(d, &hookshot.Attempt{Number: 1}, verdict{next: disable}, schedule, now); r.Status != hookshot.DeliveryFailed || !r.Gone {
		t.Fatalf("disable verdict: status %s, gone %v; want failed and gone", r.Status, r.Gone)
	}
}
