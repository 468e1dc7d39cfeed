package delivery

import (
	"slices"
	"time"

	"github.com/hookshot/hookshot"
)

// caughtUp is what the last claim that found nothing more due knew.
type caughtUp struct {
	ok bool
	// at is when that claim began, on the machine's clock: once the next
	// poll is overdue, deliveries may have fallen due that nothing told
	// of (leases run out, other processes' retries).
	at time.Time
	// skipped are the webhooks that claim passed over, busy as they were:
	// they may have due deliveries waiting in the store.
	skipped []int64
}

// A Reservation holds slots of the engine for deliveries that a publish
// is about to insert already leased to it (hand-off): the first attempt
// then needs no claim. The publish writes Owner and LeaseUntil on the
// deliveries it Holds, and once its transaction has committed it Starts
// them; when it fails, or stores nothing (an idempotent replay), it
// Cancels. Every reservation must be started or cancelled, and soon:
// Stop waits for it. The methods of a nil Reservation do nothing.
type Reservation struct {
	e *Engine
	// Owner and LeaseUntil are the lease to insert the held deliveries
	// under, as a claim would lease them.
	Owner      string
	LeaseUntil time.Time
	held       []bool
	slots      map[int64]int // by webhook, the slots taken
	done       bool
}

// Reserve takes a slot for each delivery, by webhook ID in webhooks, that
// the engine can start at once: its webhook has a free slot and nothing
// queued, and the engine has a free slot counting the claim out in the
// store. It takes none while the engine is behind, i.e. unless its last
// claim found nothing more due and nothing has fallen due since: older
// due deliveries go first; nor while recording fails. What it does not take is inserted due as
// usual and claimed, and the engine counts itself behind until a claim
// has taken that. It returns nil when it takes nothing.
//
// The caller offers only deliveries the engine would claim: of enabled
// webhooks, not validation requests. A relay's delivery (`hookshot
// listen`) is not leased by the store (see hookshot.Delivery.LeaseOwner),
// and its slot is freed at Start.
func (e *Engine) Reserve(webhooks []int64) *Reservation {
	if len(webhooks) == 0 {
		return nil
	}
	recording := e.records.pause() == 0
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started || e.closed || !e.caughtUpLocked() {
		return nil
	}
	if !recording {
		// Attempts started now could not be recorded: claims wait for
		// the recorder (see lookOnce), and so do these, due in the store.
		e.markBehindLocked()
		return nil
	}
	r := &Reservation{e: e, held: make([]bool, len(webhooks))}
	taken := 0
	for i, w := range webhooks {
		if e.inflight+e.backlogSize+e.claiming >= e.cfg.Concurrency ||
			e.perWebhook[w] >= e.cfg.PerWebhook || len(e.backlog[w]) > 0 ||
			slices.Contains(e.caughtUp.skipped, w) {
			continue
		}
		e.perWebhook[w]++
		e.inflight++
		if r.slots == nil {
			r.slots = make(map[int64]int)
		}
		r.slots[w]++
		r.held[i] = true
		taken++
	}
	if taken < len(webhooks) {
		// The rest will be due in the store: no later publish may pass
		// them.
		e.markBehindLocked()
	}
	if taken == 0 {
		return nil
	}
	e.offers.Add(1)
	now := e.cfg.Clock.Now()
	r.Owner, r.LeaseUntil = e.cfg.Owner, now.Add(e.cfg.Lease)
	return r
}

// caughtUpLocked reports whether nothing is known to be due in the store
// that the engine has not claimed. e.mu must be held.
func (e *Engine) caughtUpLocked() bool {
	c := e.caughtUp
	// The loop polls once per interval, so a caught-up state stays fresh
	// from one poll's claim to the next; a lost one ends it.
	if !c.ok || time.Since(c.at) >= 2*e.cfg.PollInterval {
		return false
	}
	return e.nextRetry.IsZero() || e.nextRetry.After(e.cfg.Clock.Now())
}

// Holds reports whether the i-th delivery offered to Reserve has a slot,
// and so is to be inserted leased to Owner until LeaseUntil.
func (r *Reservation) Holds(i int) bool {
	return r != nil && i < len(r.held) && r.held[i]
}

// Start hands the engine the jobs of the held deliveries that the
// committed transaction inserted leased, and frees the slots of the rest
// (deliveries dropped with their webhook, relays' deliveries). Once Stop
// has begun they are not attempted but handed back, as claimed ones are.
// A job beyond the slots of its webhook is placed as a claimed one would
// be, and handed back when there is no room.
func (r *Reservation) Start(jobs []*hookshot.Job) {
	if r == nil {
		return
	}
	e := r.e
	var surplus []string
	started := 0
	e.mu.Lock()
	if r.done {
		e.mu.Unlock()
		return
	}
	r.done = true
	for _, j := range jobs {
		w := j.Delivery.WebhookID
		switch {
		case e.closed:
			e.handBack = append(e.handBack, j.Delivery.ID)
		case r.slots[w] > 0:
			r.slots[w]--
			e.startLocked(j)
			started++
		case !e.placeLocked(j):
			surplus = append(surplus, j.Delivery.ID)
		default:
			started++
		}
	}
	n := r.freeLocked()
	e.mu.Unlock()
	e.offers.Done()
	e.metrics.handedOff.Add(float64(started))
	if n > 0 {
		// A freed slot may let a claim through.
		e.wakeLoop()
	}
	e.releaseSurplus(surplus)
}

// Cancel frees the reservation's slots: the publish stored nothing leased
// to the engine.
func (r *Reservation) Cancel() {
	if r == nil {
		return
	}
	e := r.e
	e.mu.Lock()
	if r.done {
		e.mu.Unlock()
		return
	}
	r.done = true
	r.freeLocked()
	e.mu.Unlock()
	e.offers.Done()
	e.wakeLoop()
}

// freeLocked frees the slots still held, and returns how many there were.
func (r *Reservation) freeLocked() int {
	n := 0
	for w, k := range r.slots {
		for ; k > 0; k-- {
			r.e.freeSlotLocked(w)
			n++
		}
	}
	r.slots = nil
	return n
}
