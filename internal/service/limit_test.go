package service

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// ManualPerWindow requests per webhook in any window pass; the next is
// ETooMany with the wait until the oldest leaves the window, and counts
// nothing; another webhook has its own count.
func TestManualLimit(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	l := NewManualLimit(clk)
	for i := range ManualPerWindow {
		if err := l.allow(1, "resends"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		clk.Advance(time.Second)
	}
	err := l.allow(1, "resends")
	var e *hookshot.Error
	if hookshot.ErrorCode(err) != hookshot.ETooMany || !errorAs(err, &e) || e.RetryAfter != 50*time.Second {
		t.Fatalf("request %d: %v (%+v), want ETooMany, retry after 50s", ManualPerWindow+1, err, e)
	}
	if err := l.allow(2, "resends"); err != nil {
		t.Fatalf("another webhook: %v", err)
	}
	clk.Advance(50 * time.Second)
	if err := l.allow(1, "resends"); err != nil {
		t.Fatalf("once the oldest left the window: %v", err)
	}
	if err := l.allow(1, "resends"); hookshot.ErrorCode(err) != hookshot.ETooMany {
		t.Fatalf("the window is full again: %v", err)
	}
	// Webhooks idle for a window are forgotten.
	clk.Advance(2 * ManualWindow)
	_ = l.allow(3, "resends")
	if n := len(l.recent); n != 1 {
		t.Fatalf("%d webhooks remembered after a quiet window, want 1", n)
	}
	var nilLimit *ManualLimit
	if err := nilLimit.allow(1, "x"); err != nil {
		t.Fatalf("a nil limit refused: %v", err)
	}
}

func errorAs(err error, e **hookshot.Error) bool {
	var ok bool
	*e, ok = err.(*hookshot.Error)
	return ok
}
