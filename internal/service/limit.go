package service

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// Manual requests to one webhook's receiver (validations, resends,
// recoveries, replays) allowed in a window.
const (
	ManualPerWindow = 10
	ManualWindow    = time.Minute
)

// ManualLimit bounds the requests people can make Hookshot send to one
// webhook's receiver, so that validate, resend, recover and replay cannot
// be used to flood a third party's server: ManualPerWindow per webhook in
// any ManualWindow. It counts in this process only; with several
// processes sharing a database, each allows as many, so the bound is that
// many times higher. It is safe for concurrent use.
type ManualLimit struct {
	clock clock.Clock
	mu    sync.Mutex
	// recent holds, per webhook, the times of its requests in the last
	// window, oldest first; webhooks with none are dropped, so the map
	// holds only the webhooks used in the last window.
	recent    map[int64][]time.Time
	lastSweep time.Time
}

// NewManualLimit returns a limit that reads the time from clk (nil for
// the system clock).
func NewManualLimit(clk clock.Clock) *ManualLimit {
	if clk == nil {
		clk = clock.System{}
	}
	return &ManualLimit{clock: clk, recent: map[int64][]time.Time{}}
}

// allow counts one request to webhookID, or returns an ETooMany error
// that says when the next is allowed, counting nothing. what names the
// request for the message, e.g. "resends".
func (l *ManualLimit) allow(webhookID int64, what string) error {
	if l == nil {
		return nil
	}
	now := l.clock.Now()
	start := now.Add(-ManualWindow)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > ManualWindow {
		for id, times := range l.recent {
			if !times[len(times)-1].After(start) {
				delete(l.recent, id)
			}
		}
		l.lastSweep = now
	}
	times := l.recent[webhookID]
	for len(times) > 0 && !times[0].After(start) {
		times = times[1:]
	}
	if len(times) >= ManualPerWindow {
		l.recent[webhookID] = times
		wait := times[0].Add(ManualWindow).Sub(now)
		secs := int(math.Ceil(wait.Seconds()))
		return &hookshot.Error{
			Code: hookshot.ETooMany,
			Message: fmt.Sprintf("Webhook %d has had %d validations, resends, recoveries or replays in the last %s, the most allowed, so that its receiver is not flooded; try these %s again in %d seconds.",
				webhookID, ManualPerWindow, ManualWindow, what, secs),
			RetryAfter: time.Duration(secs) * time.Second,
		}
	}
	l.recent[webhookID] = append(times, now)
	return nil
}
