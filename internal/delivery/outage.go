package delivery

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hookshot/hookshot"
)

// Backoff bounds for work against a failing store: the first retry comes
// soon, so that a blip costs little, and the waits double up to a ceiling
// that keeps a long outage from hammering the database while still
// resuming within seconds of its return.
const (
	storeBackoffMin = 100 * time.Millisecond
	storeBackoffMax = 5 * time.Second
)

// backoff is the wait before the next try after failures in a row: lo
// doubled for each failure after the first, at most hi.
func backoff(failures int, lo, hi time.Duration) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// outage tracks whether one kind of work against the store (claiming,
// recording) is failing, so that an outage is logged when it begins and
// when it ends, not at every retry: a database down for an hour would
// otherwise fill the log with the same line several times a second.
type outage struct {
	log  *slog.Logger
	what string // e.g. "claiming deliveries"
	// min and max bound the backoff: storeBackoffMin and storeBackoffMax
	// but in tests.
	min, max time.Duration

	mu       sync.Mutex
	failures int
	since    time.Time
	storage  bool // the run began with the storage unavailable
}

// failed counts a failure and returns how long to wait before the next try.
// The first failure of a run is logged: as a warning when the storage is
// unavailable (it is expected to come back; nothing is lost meanwhile),
// as an error otherwise.
func (o *outage) failed(err error) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	if o.failures == 1 {
		o.since = time.Now()
		o.storage = errors.Is(err, hookshot.ErrStorageUnavailable)
		if o.storage {
			o.log.Warn("storage unavailable: "+o.what+" paused, retrying with backoff until it is back", "err", err)
		} else {
			o.log.Error(o.what+" failed, retrying with backoff", "err", err)
		}
	}
	return backoff(o.failures, o.min, o.max)
}

// succeeded ends a run of failures, logging how long it lasted.
func (o *outage) succeeded() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failures == 0 {
		return
	}
	msg := o.what + " resumed"
	if o.storage {
		msg = "storage is back: " + msg
	}
	o.log.Info(msg, "failures", o.failures, "outage_ms", time.Since(o.since).Milliseconds())
	o.failures = 0
}

// pause is how long other work should hold off while this one is failing
// on an unavailable store, 0 when it is not.
func (o *outage) pause() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return backoff(o.failures, o.min, o.max)
}
