// Package delivery is the engine that moves deliveries: it claims due rows
// from the store in batches, authenticates and sends each attempt over a
// pooled keep-alive client, records outcomes in batches and reschedules
// failures by the retry schedule.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// Queue is the part of hookshot.Store the engine works through.
type Queue interface {
	ClaimDeliveries(ctx context.Context, c hookshot.Claim) ([]*hookshot.Job, error)
	RecordResults(ctx context.Context, owner string, results []*hookshot.Result) error
	ReleaseDeliveries(ctx context.Context, owner string, ids []string) error
}

// Config is what the engine is built from. Zero values take the defaults
// documented on each field.
type Config struct {
	// Owner names this process on the leases it takes; it must differ
	// between processes sharing a database.
	Owner string
	// Schedule holds the waits between attempts (SPEC §6); a delivery gets
	// len(Schedule)+1 attempts.
	Schedule []time.Duration
	// Timeout bounds one whole attempt. Default 15s.
	Timeout time.Duration
	// Lease is how long a claim holds a delivery. Default: long enough for
	// a queued job to wait for its webhook's slot and then run to its
	// timeout, plus a margin for clocks that differ between machines, so a
	// lease only runs out when its process is gone.
	Lease time.Duration
	// Concurrency bounds attempts in flight in this process. Default 256.
	Concurrency int
	// PerWebhook bounds one webhook's attempts in flight, so that a slow
	// receiver uses up its own share and nobody else's. Default 16.
	PerWebhook int
	// BatchSize bounds one claim and one recording transaction. Default 256.
	BatchSize int
	// PollInterval is the fallback check for due retries when nothing
	// wakes the engine. Default 500ms.
	PollInterval time.Duration
	Wire         Wire
	Client       *http.Client
	Credentials  CredentialOpener
	// SigningKeys gives the Ed25519 keys of webhooks with authentication
	// ed25519, and KeyOpener opens them; without both their attempts fail.
	SigningKeys SigningKeys
	KeyOpener   KeyOpener
	Logger      *slog.Logger
	// Wakeups, when set, tells of work published by other processes. Once
	// it is closed the engine stops listening and relies on its poll.
	Wakeups <-chan struct{}
	// Registerer, when set, receives the engine's Prometheus metrics.
	Registerer prometheus.Registerer
	// DisableAfter disables a webhook whose attempts have all failed for
	// this long, at least hookshot.MinFailuresToDisable of them
	// (HOOKSHOT_DISABLE_AFTER); 0 never does.
	DisableAfter time.Duration
	// DisableOnGone disables a webhook at once when its receiver answers
	// 410 Gone (HOOKSHOT_DISABLE_ON_GONE); otherwise 410 fails the
	// attempt like any other status.
	DisableOnGone bool
	// Tracer, when set, makes each attempt a client span in its event's
	// trace. Nil costs nothing: no span is started, and the receiver gets
	// the stored trace context as it is.
	Tracer trace.Tracer
	// Clock gives the times the engine stores and compares: when a claim
	// is made, when an attempt started, when the next one is due. Default
	// clock.System. Durations are measured on the machine's clock.
	Clock clock.Clock
}

// Engine delivers webhooks. Start it once; a second Start does nothing, and
// neither does a Start after Stop: an engine does not restart. Stop may be
// called any number of times, from any goroutine, with or without Start.
type Engine struct {
	cfg     Config
	queue   Queue
	sender  *sender
	log     *slog.Logger
	metrics *metrics

	wake     chan struct{}
	results  chan *hookshot.Result
	stopping chan struct{} // closed when Stop begins
	loopDone chan struct{}
	recDone  chan struct{}
	stopOnce sync.Once
	stopped  chan struct{} // closed when the first Stop returns
	stopErr  error         // what the first Stop returned

	// sendCtx carries the attempts and claims; Stop cancels it when it cuts
	// attempts short.
	sendCtx    context.Context
	cancelSend context.CancelFunc
	// recordCtx carries the recording; Stop cancels it when its deadline
	// passes, so retries against a failing store end there.
	recordCtx    context.Context
	cancelRecord context.CancelFunc
	attempts     sync.WaitGroup
	// work carries jobs to idle workers (see startLocked); workerGroup
	// counts the workers, so Stop returns after the last has left.
	work        chan *hookshot.Job
	workerGroup sync.WaitGroup
	// idleFor is idleWorker; tests shorten it.
	idleFor time.Duration
	// unrecorded counts results queued or being recorded, so Stop can say
	// how many its deadline left behind.
	unrecorded atomic.Int64
	// sending counts attempts under way whose result is not yet queued:
	// while there are some, the recorder waits a moment for their results
	// to share its transaction (see gather).
	sending atomic.Int64
	// gatherFor is gatherWindow; tests lengthen it.
	gatherFor time.Duration
	// recordTries and recordPause are how often a batch is tried and the
	// pause after the first failure (growing by as much each time).
	recordTries int
	recordPause time.Duration
	// claims and records log the store's outages once per change.
	claims, records *outage

	mu          sync.Mutex
	started     bool
	closed      bool // Stop has begun: no attempt starts any more
	inflight    int
	perWebhook  map[int64]int
	backlog     map[int64][]*hookshot.Job // claimed, waiting for a slot on their webhook
	backlogSize int
	// workers counts the attempt workers, idleWorkers those waiting for
	// a job with none queued for them.
	workers, idleWorkers int
	handBack             []string // leases for Stop to release: attempts cut short, claims and hand-offs that came back after Stop began
	// claiming is the limit of the claim out in the store, whose jobs may
	// take that many slots when it comes back: a hand-off counts it as
	// taken.
	claiming int
	// behind and caughtUp say whether deliveries may be due in the store
	// that this engine has not claimed (see Reserve). behind counts the
	// signs that some are; a claim that found nothing more due, with no
	// new sign since it began, is caughtUp, for its webhooks but those it
	// skipped, until the next poll would have looked again.
	behind   uint64
	caughtUp caughtUp
	// lastLook is when the loop last claimed, or found no free slot to
	// claim for: the poll interval runs from then.
	lastLook time.Time
	// offers counts the reservations not yet started or cancelled: Stop
	// waits for them, since their deliveries are being leased to it.
	offers sync.WaitGroup
	// nextRetry is the earliest retry this process scheduled, so the loop
	// wakes for it on time instead of on the next poll.
	nextRetry time.Time
}

// New returns an engine working through q.
func New(q Queue, cfg Config) *Engine {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2*cfg.Timeout + 30*time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 256
	}
	if cfg.PerWebhook <= 0 {
		cfg.PerWebhook = 16
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.Wire == (Wire{}) {
		cfg.Wire = DefaultWire
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(ClientOptions{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	sendCtx, cancelSend := context.WithCancel(context.Background())
	recordCtx, cancelRecord := context.WithCancel(context.Background())
	e := &Engine{
		cfg:   cfg,
		queue: q,
		sender: &sender{
			client:  cfg.Client,
			wire:    cfg.Wire,
			timeout: cfg.Timeout,
			opener:  cfg.Credentials,
			tokens:  newTokenCache(cfg.Client),
			clock:   cfg.Clock,
			keys:    cfg.SigningKeys,
			keyOpen: cfg.KeyOpener,
		},
		log:          cfg.Logger,
		wake:         make(chan struct{}, 1),
		results:      make(chan *hookshot.Result, 4*cfg.BatchSize),
		stopping:     make(chan struct{}),
		loopDone:     make(chan struct{}),
		recDone:      make(chan struct{}),
		stopped:      make(chan struct{}),
		sendCtx:      sendCtx,
		cancelSend:   cancelSend,
		recordCtx:    recordCtx,
		cancelRecord: cancelRecord,
		recordTries:  8,
		recordPause:  100 * time.Millisecond,
		gatherFor:    gatherWindow,
		work:         make(chan *hookshot.Job, cfg.Concurrency),
		idleFor:      idleWorker,
		perWebhook:   make(map[int64]int),
		backlog:      make(map[int64][]*hookshot.Job),
	}
	e.claims = &outage{log: e.log, what: "claiming deliveries", min: storeBackoffMin, max: storeBackoffMax}
	e.records = &outage{log: e.log, what: "recording attempts", min: storeBackoffMin, max: storeBackoffMax}
	e.metrics = newMetrics(cfg.Registerer, e)
	return e
}

// Notify wakes the engine: deliveries may be due now. It never blocks.
// Until a claim has taken them, no publish hands deliveries off ahead of
// them (see Reserve).
func (e *Engine) Notify() {
	e.mu.Lock()
	e.markBehindLocked()
	e.mu.Unlock()
	e.wakeLoop()
}

// wakeLoop makes the loop claim again without telling of new due work:
// slots were freed.
func (e *Engine) wakeLoop() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// markBehindLocked notes that deliveries may be due in the store that this
// engine has not claimed; e.mu must be held.
func (e *Engine) markBehindLocked() {
	e.behind++
	e.caughtUp.ok = false
}

// Start runs the engine until Stop. It returns at once; the work goes on
// in the background.
func (e *Engine) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.closed {
		return
	}
	e.started = true
	go e.record()
	go e.loop()
}

// Stop stops claiming and waits for attempts in flight to finish and be
// recorded, then hands back the leases of claimed deliveries it did not
// attempt.
//
// Stop returns by ctx's deadline. Shortly before it (a tenth of the time
// left, at most a second) the attempts still in flight are cut short, so
// there is time left to record what finished and to hand back the leases of
// what did not; another process, or the next start, attempts those again
// at once. What the deadline leaves unrecorded or not handed back, because
// the store fails or hangs, stays leased to this process until the leases
// run out: nothing is lost, at worst a delivery is sent twice. Stop then
// says so in its error.
//
// Stop without Start returns at once. Later and concurrent calls wait for
// the first one to finish (or for their own ctx) and return what it did.
func (e *Engine) Stop(ctx context.Context) error {
	first := false
	e.stopOnce.Do(func() { first = true })
	if !first {
		select {
		case <-e.stopped:
			return e.stopErr
		case <-ctx.Done():
			return fmt.Errorf("waiting for the delivery engine to stop: %w", ctx.Err())
		}
	}
	defer close(e.stopped)
	e.mu.Lock()
	e.closed = true
	started := e.started
	e.mu.Unlock()
	close(e.stopping)
	if !started {
		e.cancelSend()
		e.cancelRecord()
		return nil
	}
	e.stopErr = e.stop(ctx)
	return e.stopErr
}

func (e *Engine) stop(ctx context.Context) error {
	cut, cancelCut := cutShortBefore(ctx)
	defer cancelCut()
	defer context.AfterFunc(cut, e.cancelSend)()
	defer context.AfterFunc(ctx, e.cancelRecord)()
	defer e.cancelSend()
	defer e.cancelRecord()

	var errs []error
	// A claim in progress ends by the cut (it runs on sendCtx). Its jobs
	// are handed back with the rest (see claim), unless the store ignores
	// its context and answers too late: then their leases run out.
	select {
	case <-e.loopDone:
	case <-ctx.Done():
	}
	// Likewise a publish handing deliveries over: it starts or cancels its
	// reservation once its transaction ends, and what it leased to this
	// engine is handed back with the rest (see Reservation.Start).
	if err := untilDone(ctx, func() error { e.offers.Wait(); return nil }); err != nil {
		errs = append(errs, fmt.Errorf("waiting for publishes handing deliveries over; what they leased to this process will be attempted again when the leases run out: %w", err))
	}
	// Attempts end by the cut, and their results are queued for recording
	// or dropped once the deadline passes (see attempt): this wait is
	// bounded, and nothing starts an attempt any more.
	e.attempts.Wait()
	// The workers, idle now, leave on seeing Stop begun.
	e.workerGroup.Wait()
	close(e.results)
	select {
	case <-e.recDone:
	case <-ctx.Done():
		if n := e.unrecorded.Load(); n > 0 {
			errs = append(errs, fmt.Errorf("%d attempts were not recorded by the deadline; their deliveries will be attempted again when their leases run out: %w", n, ctx.Err()))
		}
	}

	e.mu.Lock()
	queued := e.handBack
	e.handBack = nil
	for w, jobs := range e.backlog {
		for _, j := range jobs {
			queued = append(queued, j.Delivery.ID)
		}
		delete(e.backlog, w)
	}
	e.backlogSize = 0
	e.mu.Unlock()
	if len(queued) > 0 {
		err := untilDone(ctx, func() error { return e.queue.ReleaseDeliveries(ctx, e.cfg.Owner, queued) })
		if err != nil {
			e.log.Error("handing back leases at shutdown; they will be attempted again when their leases run out", "count", len(queued), "err", err)
			errs = append(errs, fmt.Errorf("handing back %d leases: %w", len(queued), err))
		}
	}
	return errors.Join(errs...)
}

// cutShortBefore returns a context that ends a little before ctx does: a
// tenth of the time left, at most a second, is kept for recording and
// handing back leases after the attempts in flight are cut short.
func cutShortBefore(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	keep := max(0, min(time.Until(deadline)/10, time.Second))
	return context.WithDeadline(ctx, deadline.Add(-keep))
}

// untilDone runs f and returns its error, or ctx's error if ctx ends first:
// a store that does not honour its context must not hold up Stop. f then
// goes on in the background and its result is dropped.
func untilDone(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) loop() {
	defer close(e.loopDone)
	poll := time.NewTimer(e.cfg.PollInterval)
	defer poll.Stop()
	wakeups := e.cfg.Wakeups
	look := true
	for {
		select {
		case <-e.stopping:
			return
		default:
		}
		if look {
			more, ok := e.lookOnce()
			if !ok {
				return
			}
			if more {
				continue
			}
		}
		look = true
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(e.untilNextCheck())
		select {
		case <-e.stopping:
			return
		case <-e.wake:
			// Freed slots need no claim while nothing is waiting for
			// them: the last claim found nothing due and skipped no
			// webhook, and nothing fell due since (Notify says when).
			look = !e.nothingToClaim()
		case _, ok := <-wakeups:
			if !ok {
				// A closed channel is always ready: listening on would
				// claim without pause. Polling still finds the work.
				e.log.Warn("wake-ups from other processes ended; relying on polling")
				wakeups = nil
				continue
			}
			e.mu.Lock()
			e.markBehindLocked()
			e.mu.Unlock()
		case <-poll.C:
		}
	}
}

// lookOnce claims once, or waits for the recorder or for the store to
// recover. It reports whether to look again at once, and false for ok
// when Stop began.
func (e *Engine) lookOnce() (more, ok bool) {
	if wait := e.records.pause(); wait > 0 {
		// Attempts made now could not be recorded either, and with
		// their leases run out by then the ones waiting to be
		// recorded would be claimed and sent again: let the recorder
		// catch up first.
		return true, e.sleep(wait)
	}
	more, err := e.claim()
	if err != nil {
		select {
		case <-e.stopping:
			return false, false // Stop cut the claim short: not the store's fault
		default:
		}
		// Back off while the store is unhappy rather than spin; a
		// publish's Notify does not cut the wait short, since the
		// store that refused the claim most likely refused that too.
		return true, e.sleep(e.claims.failed(err))
	}
	e.claims.succeeded()
	return more, true
}

// sleep waits for d, and reports false when Stop began meanwhile.
func (e *Engine) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.stopping:
		return false
	case <-t.C:
		return true
	}
}

// nothingToClaim reports whether the last claim left nothing that a claim
// now could take.
func (e *Engine) nothingToClaim() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.caughtUpLocked() && len(e.caughtUp.skipped) == 0
}

// untilNextCheck is how long the loop may sleep: until the poll interval
// since it last looked, or until the earliest retry this process
// scheduled, whichever is sooner.
func (e *Engine) untilNextCheck() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	wait := max(time.Millisecond, e.cfg.PollInterval-time.Since(e.lastLook))
	if !e.nextRetry.IsZero() {
		until := e.nextRetry.Sub(e.cfg.Clock.Now())
		if until <= 0 {
			// The retry is due in the store from now on: it goes before
			// any new delivery.
			e.nextRetry = time.Time{}
			e.markBehindLocked()
			return time.Millisecond
		}
		wait = min(wait, until)
	}
	return wait
}

// claim takes one batch of due deliveries and starts or queues them. It
// reports whether a full batch came back, i.e. more are probably due.
func (e *Engine) claim() (bool, error) {
	e.mu.Lock()
	e.lastLook = time.Now()
	free := e.cfg.Concurrency - e.inflight - e.backlogSize
	var skip []int64
	for w, n := range e.perWebhook {
		if n >= e.cfg.PerWebhook || len(e.backlog[w]) > 0 {
			skip = append(skip, w)
		}
	}
	if free <= 0 {
		// Nothing is claimed, so nothing is known to be caught up.
		e.caughtUp.ok = false
		e.mu.Unlock()
		return false, nil
	}
	limit := min(free, e.cfg.BatchSize)
	e.claiming = limit
	signs := e.behind
	began := time.Now()
	e.mu.Unlock()
	jobs, err := e.queue.ClaimDeliveries(e.sendCtx, hookshot.Claim{
		Owner:        e.cfg.Owner,
		Now:          e.cfg.Clock.Now(),
		LeaseFor:     e.cfg.Lease,
		Limit:        limit,
		SkipWebhooks: skip,
	})
	var surplus []string
	e.mu.Lock()
	e.claiming = 0
	if err != nil {
		e.caughtUp.ok = false
		e.mu.Unlock()
		return false, err
	}
	if e.closed {
		// Stop began while the claim was out: nothing starts any more, so
		// Stop hands these back with the rest.
		for _, j := range jobs {
			e.handBack = append(e.handBack, j.Delivery.ID)
		}
		e.mu.Unlock()
		return false, nil
	}
	for _, j := range jobs {
		if !e.placeLocked(j) {
			surplus = append(surplus, j.Delivery.ID)
		}
	}
	if len(jobs) < limit && len(surplus) == 0 && e.behind == signs {
		// Everything due was claimed but on the webhooks skipped, and no
		// publish, resend or retry has fallen due since the claim began.
		e.caughtUp = caughtUp{ok: true, at: began, skipped: skip}
	} else {
		e.caughtUp.ok = false
	}
	e.mu.Unlock()
	e.releaseSurplus(surplus)
	return len(jobs) == limit, nil
}

// placeLocked starts j when its webhook has a free slot, or queues it
// within the webhook's backlog; it reports false when neither is possible
// and the lease should go back. e.mu must be held.
func (e *Engine) placeLocked(j *hookshot.Job) bool {
	w := j.Delivery.WebhookID
	switch {
	case e.perWebhook[w] < e.cfg.PerWebhook:
		e.perWebhook[w]++
		e.inflight++
		e.startLocked(j)
	case len(e.backlog[w]) < e.cfg.PerWebhook:
		e.backlog[w] = append(e.backlog[w], j)
		e.backlogSize++
	default:
		return false
	}
	return true
}

// releaseSurplus hands back leases that would wait long: more than their
// webhook may have in flight and queued.
func (e *Engine) releaseSurplus(ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := e.queue.ReleaseDeliveries(e.sendCtx, e.cfg.Owner, ids); err != nil {
		e.log.Warn("releasing surplus deliveries", "count", len(ids), "err", err)
	}
}

// attempt makes one attempt of j and queues its result. It returns the
// next job of j's webhook waiting for the slot j held, which the caller is
// to attempt next, or nil.
func (e *Engine) attempt(j *hookshot.Job) *hookshot.Job {
	defer e.attempts.Done()
	e.sending.Add(1)
	if j.Delivery.Attempts == 0 {
		e.metrics.delay.Observe(e.cfg.Clock.Now().Sub(j.Delivery.CreatedAt).Seconds())
	}
	number := j.Delivery.Attempts + 1
	ctx := e.sendCtx
	var span trace.Span
	if e.cfg.Tracer != nil {
		ctx, span = startAttemptSpan(ctx, e.cfg.Tracer, j, number)
	}
	att, v := e.sender.send(ctx, j, number)
	// Counted as queued (unrecorded) before it stops counting as sending,
	// so that the recorder never sees neither.
	e.unrecorded.Add(1)
	e.sending.Add(-1)
	e.metrics.duration.Observe(att.Duration.Seconds())
	e.metrics.outcome(v.next == succeeded)
	if v.next != succeeded && e.sendCtx.Err() != nil {
		// Cut short by shutdown: not the receiver's fault, so not an
		// attempt. The lease goes back and the delivery is tried afresh.
		if span != nil {
			endAttemptSpan(span, att, v, "")
		}
		e.unrecorded.Add(-1)
		e.mu.Lock()
		e.handBack = append(e.handBack, j.Delivery.ID)
		e.mu.Unlock()
	} else {
		e.metrics.class(v.class)
		r := e.result(j, att, v)
		if span != nil {
			endAttemptSpan(span, att, v, r.Status)
		}
		select {
		case e.results <- r:
		case <-e.recordCtx.Done():
			// Stop's deadline has passed with the recorder stuck in the
			// store: the lease runs out and the delivery is attempted again.
		}
	}
	return e.finish(j)
}

// finish hands the job's slot to the next queued job of the same webhook,
// returned for the worker to attempt next, or frees it; then the worker
// counts itself idle, in the same critical section, so that the workers
// busy never outnumber the slots taken.
func (e *Engine) finish(j *hookshot.Job) *hookshot.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	if next := e.nextQueuedLocked(j.Delivery.WebhookID); next != nil {
		e.attempts.Add(1)
		return next
	}
	e.releaseSlotLocked(j.Delivery.WebhookID)
	e.idleWorkers++
	return nil
}

// freeSlotLocked frees a slot of webhook w, handing it straight to the
// next queued job of w when there is one. e.mu must be held.
func (e *Engine) freeSlotLocked(w int64) {
	if next := e.nextQueuedLocked(w); next != nil {
		e.startLocked(next)
		return
	}
	e.releaseSlotLocked(w)
}

// nextQueuedLocked takes the next job queued for a slot of webhook w, or
// returns nil. e.mu must be held.
func (e *Engine) nextQueuedLocked(w int64) *hookshot.Job {
	// Once Stop has begun, the backlog stays for Stop to hand back.
	q := e.backlog[w]
	if len(q) == 0 || e.closed {
		return nil
	}
	next := q[0]
	if len(q) == 1 {
		delete(e.backlog, w)
	} else {
		e.backlog[w] = q[1:]
	}
	e.backlogSize--
	return next
}

// releaseSlotLocked frees a slot of webhook w. e.mu must be held.
func (e *Engine) releaseSlotLocked(w int64) {
	e.inflight--
	if e.perWebhook[w]--; e.perWebhook[w] <= 0 {
		delete(e.perWebhook, w)
	}
}

// result is the delivery's new state after attempt att, judged v. It
// keeps the earliest retry it schedules, so the loop wakes for it on time.
func (e *Engine) result(j *hookshot.Job, att *hookshot.Attempt, v verdict) *hookshot.Result {
	d := j.Delivery
	if v.next == disable && !e.cfg.DisableOnGone {
		v.next = retry
	}
	r := resultFor(d, att, v, e.cfg.Schedule, e.cfg.Clock.Now())
	r.DisableAfter = e.cfg.DisableAfter
	if r.Status == hookshot.DeliveryInProgress {
		e.mu.Lock()
		if e.nextRetry.IsZero() || r.NextAttemptAt.Before(e.nextRetry) {
			e.nextRetry = r.NextAttemptAt
		}
		e.mu.Unlock()
	}
	e.logResult(d, att, v, r)
	return r
}

// logResult says how an attempt went, at a level by what it asks of the
// operator (SPEC §18): a success is routine (DEBUG), a failure that will
// be retried is worth a look (INFO), a delivery that has finally failed
// needs one (WARN).
func (e *Engine) logResult(d *hookshot.Delivery, att *hookshot.Attempt, v verdict, r *hookshot.Result) {
	status := 0
	if att.Response != nil {
		status = att.Response.Status
	}
	switch r.Status {
	case hookshot.DeliverySucceeded:
		if !e.log.Enabled(context.Background(), slog.LevelDebug) {
			// Checked first: the arguments of a discarded line are still
			// boxed into interfaces, on every successful attempt.
			return
		}
		e.log.Debug("attempt succeeded",
			"delivery_id", d.ID, "webhook_id", d.WebhookID, "study_id", d.StudyID, "event", d.Event,
			"attempt", att.Number, "status_code", status, "duration_ms", att.Duration.Milliseconds())
	case hookshot.DeliveryInProgress:
		e.log.Info("attempt failed, will retry",
			"delivery_id", d.ID, "webhook_id", d.WebhookID, "study_id", d.StudyID, "event", d.Event,
			"attempt", att.Number, "status_code", status, "class", string(v.class), "err", att.Error,
			"verdict", v.next.String(), "next_attempt_at", r.NextAttemptAt)
	default:
		e.log.Warn("delivery failed",
			"delivery_id", d.ID, "webhook_id", d.WebhookID, "study_id", d.StudyID, "event", d.Event,
			"attempt", att.Number, "status_code", status, "class", string(v.class), "err", att.Error,
			"verdict", v.next.String())
	}
}

// record writes results in batches: it blocks for the first result, then
// takes whatever else is waiting, and, while attempts are still under way,
// what they bring within gatherWindow (see gather). An idle engine records
// a lone attempt at once; a busy one amortises a transaction, and its
// fsync, over many.
func (e *Engine) record() {
	defer close(e.recDone)
	batch := make([]*hookshot.Result, 0, e.cfg.BatchSize)
	var window *time.Timer
	for r := range e.results {
		batch = append(batch[:0], r)
		batch, window = e.gather(batch, window)
		e.flush(batch)
		e.unrecorded.Add(-int64(len(batch)))
	}
}

// gatherWindow bounds how long the recorder waits for the results of
// attempts under way. At a light load the ten attempts of one publish end
// within a millisecond or two of each other: without the wait each would
// be a transaction of its own, with the CPU of its commit and its fsync;
// with it they share one. The wait delays only when an outcome becomes
// visible in the history, never an attempt.
const gatherWindow = 2 * time.Millisecond

// gather adds to batch the results already queued and, while attempts are
// under way and the batch has room, those that arrive within gatherWindow.
// It returns the batch and the timer, kept for reuse.
func (e *Engine) gather(batch []*hookshot.Result, window *time.Timer) ([]*hookshot.Result, *time.Timer) {
	var expired <-chan time.Time
	for len(batch) < e.cfg.BatchSize {
		select {
		case r, ok := <-e.results:
			if !ok {
				return batch, window
			}
			batch = append(batch, r)
			continue
		default:
		}
		if e.sending.Load() == 0 {
			return batch, window
		}
		if expired == nil {
			if window == nil {
				window = time.NewTimer(e.gatherFor)
			} else {
				window.Reset(e.gatherFor)
			}
			expired = window.C
		}
		select {
		case r, ok := <-e.results:
			if !ok {
				window.Stop()
				return batch, window
			}
			batch = append(batch, r)
		case <-expired:
			return batch, window
		}
	}
	if expired != nil {
		window.Stop()
	}
	return batch, window
}

// flush records one batch, retrying while the store fails, until Stop's
// deadline passes. While the storage is unavailable (down, read-only,
// full) it retries with backoff for as long as that lasts: the attempts
// were made, and recording them once the database is back spares the
// receivers a second copy. Meanwhile the attempts behind this batch wait
// for room in the results channel, so memory stays bounded, and the claim
// loop waits for the recorder, so nothing new starts. Any other failure is
// tried recordTries times and then given up, since it may be the batch
// itself that the store refuses.
func (e *Engine) flush(batch []*hookshot.Result) {
	var err error
	for try := 1; ; try++ {
		if err = e.recordCtx.Err(); err != nil {
			break
		}
		// Unhurried: nobody waits on the recording but the history, so
		// the store may hold it for the next publish to share its commit.
		ctx, cancel := context.WithTimeout(hookshot.Unhurried(e.recordCtx), 30*time.Second)
		err = e.queue.RecordResults(ctx, e.cfg.Owner, batch)
		cancel()
		unavailable := errors.Is(err, hookshot.ErrStorageUnavailable)
		if !unavailable {
			// The store answered, if only with another error: the outage,
			// if there was one, is over, and the claim loop may go on.
			e.records.succeeded()
		}
		if err == nil || (try >= e.recordTries && !unavailable) {
			break
		}
		wait := time.Duration(try) * e.recordPause
		if unavailable {
			wait = e.records.failed(err)
		} else {
			e.log.Warn("recording attempts failed, retrying", "count", len(batch), "err", err)
		}
		pause := time.NewTimer(wait)
		select {
		case <-pause.C:
		case <-e.recordCtx.Done():
			pause.Stop()
		}
	}
	if err != nil {
		// The leases stay with this process until they run out; then the
		// deliveries are attempted again, so nothing is lost, at worst
		// sent twice.
		e.log.Error("recording attempts failed, deliveries will be retried when their leases run out", "count", len(batch), "err", err)
		return
	}
	now := e.cfg.Clock.Now()
	due := false
	for _, r := range batch {
		due = due || (r.Status == hookshot.DeliveryInProgress && !r.NextAttemptAt.After(now))
		if r.Status != hookshot.DeliveryInProgress {
			e.metrics.finish(r.Status)
		}
		if d := r.Disabled; d != nil {
			e.metrics.disabled.WithLabelValues(d.Reason.Code).Inc()
			e.log.Warn("webhook disabled", "webhook_id", d.WebhookID, "study_id", d.StudyID, "reason", d.Reason.Code)
		}
	}
	if due {
		// A retry due at once (Retry-After: 0) goes before new deliveries.
		e.Notify()
		return
	}
	e.wakeLoop()
}
