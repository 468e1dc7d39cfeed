// Package delivery is the engine that moves deliveries: it claims due rows
// from the store in batches, authenticates and sends each attempt over a
// pooled keep-alive client, records outcomes in batches and reschedules
// failures by the retry schedule.
package delivery

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
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
	Logger       *slog.Logger
	// Wakeups, when set, tells of work published by other processes.
	Wakeups <-chan struct{}
	// Registerer, when set, receives the engine's Prometheus metrics.
	Registerer prometheus.Registerer
}

// Engine delivers webhooks. Start it once; Stop it once or more.
type Engine struct {
	cfg     Config
	queue   Queue
	sender  *sender
	log     *slog.Logger
	metrics *metrics

	wake     chan struct{}
	results  chan *hookshot.Result
	stopping chan struct{}
	loopDone chan struct{}
	recDone  chan struct{}
	stopOnce sync.Once
	stopErr  error

	// sendCtx outlives Stop's grace period only as long as it must: Stop
	// cancels it when the caller's deadline passes.
	sendCtx    context.Context
	cancelSend context.CancelFunc
	attempts   sync.WaitGroup

	mu          sync.Mutex
	inflight    int
	perWebhook  map[int64]int
	backlog     map[int64][]*hookshot.Job // claimed, waiting for a slot on their webhook
	backlogSize int
	interrupted []string // leases to hand back: attempts cut short by shutdown
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
	sendCtx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:   cfg,
		queue: q,
		sender: &sender{
			client:  cfg.Client,
			wire:    cfg.Wire,
			timeout: cfg.Timeout,
			opener:  cfg.Credentials,
			tokens:  newTokenCache(cfg.Client),
		},
		log:        cfg.Logger,
		wake:       make(chan struct{}, 1),
		results:    make(chan *hookshot.Result, 4*cfg.BatchSize),
		stopping:   make(chan struct{}),
		loopDone:   make(chan struct{}),
		recDone:    make(chan struct{}),
		sendCtx:    sendCtx,
		cancelSend: cancel,
		perWebhook: make(map[int64]int),
		backlog:    make(map[int64][]*hookshot.Job),
	}
	e.metrics = newMetrics(cfg.Registerer, e)
	return e
}

// Notify wakes the engine: deliveries may be due now. It never blocks.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start runs the engine until Stop.
func (e *Engine) Start() {
	go e.record()
	go e.loop()
}

// Stop stops claiming, hands back claimed deliveries not yet started, and
// waits for attempts in flight to finish and be recorded. When ctx ends
// first, the remaining attempts are cut short and their leases released, so
// another process (or the next start) attempts them again at once. Safe to
// call more than once.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		close(e.stopping)
		<-e.loopDone

		e.mu.Lock()
		var queued []string
		for w, jobs := range e.backlog {
			for _, j := range jobs {
				queued = append(queued, j.Delivery.ID)
			}
			delete(e.backlog, w)
		}
		e.backlogSize = 0
		e.mu.Unlock()

		finished := make(chan struct{})
		go func() { e.attempts.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			e.cancelSend()
			<-finished
		}
		close(e.results)
		<-e.recDone

		e.mu.Lock()
		queued = append(queued, e.interrupted...)
		e.mu.Unlock()
		if len(queued) > 0 {
			// A fresh context: the caller's may be spent, and a lease not
			// handed back delays these deliveries by a whole lease.
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.queue.ReleaseDeliveries(rctx, e.cfg.Owner, queued); err != nil {
				e.stopErr = err
				e.log.Error("releasing leases at shutdown", "count", len(queued), "err", err)
			}
		}
		e.cancelSend()
	})
	return e.stopErr
}

func (e *Engine) loop() {
	defer close(e.loopDone)
	poll := time.NewTimer(e.cfg.PollInterval)
	defer poll.Stop()
	failures := 0
	for {
		select {
		case <-e.stopping:
			return
		default:
		}
		more, err := e.claim()
		if err != nil {
			failures++
			e.log.Error("claiming deliveries", "err", err)
			// Back off while the store is unhappy rather than spin.
			backoff := min(time.Duration(failures)*100*time.Millisecond, 5*time.Second)
			select {
			case <-e.stopping:
				return
			case <-time.After(backoff):
			}
			continue
		}
		failures = 0
		if more {
			continue
		}
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
		case <-e.cfg.Wakeups:
		case <-poll.C:
		}
	}
}

// untilNextCheck is how long the loop may sleep: until the poll interval,
// or until the earliest retry this process scheduled, whichever is sooner.
func (e *Engine) untilNextCheck() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	wait := e.cfg.PollInterval
	if !e.nextRetry.IsZero() {
		until := time.Until(e.nextRetry)
		if until <= 0 {
			e.nextRetry = time.Time{}
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
	free := e.cfg.Concurrency - e.inflight - e.backlogSize
	var skip []int64
	for w, n := range e.perWebhook {
		if n >= e.cfg.PerWebhook || len(e.backlog[w]) > 0 {
			skip = append(skip, w)
		}
	}
	e.mu.Unlock()
	if free <= 0 {
		return false, nil
	}
	limit := min(free, e.cfg.BatchSize)
	jobs, err := e.queue.ClaimDeliveries(e.sendCtx, hookshot.Claim{
		Owner:        e.cfg.Owner,
		Now:          now(),
		LeaseFor:     e.cfg.Lease,
		Limit:        limit,
		SkipWebhooks: skip,
	})
	if err != nil {
		return false, err
	}
	var surplus []string
	e.mu.Lock()
	for _, j := range jobs {
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
			surplus = append(surplus, j.Delivery.ID)
		}
	}
	e.mu.Unlock()
	if len(surplus) > 0 {
		// More than this webhook may have in flight and queued: hand them
		// back instead of holding leases that would wait long.
		if err := e.queue.ReleaseDeliveries(e.sendCtx, e.cfg.Owner, surplus); err != nil {
			e.log.Warn("releasing surplus deliveries", "count", len(surplus), "err", err)
		}
	}
	return len(jobs) == limit, nil
}

func (e *Engine) startLocked(j *hookshot.Job) {
	e.attempts.Add(1)
	go e.attempt(j)
}

func (e *Engine) attempt(j *hookshot.Job) {
	defer e.attempts.Done()
	if j.Delivery.Attempts == 0 {
		e.metrics.delay.Observe(time.Since(j.Delivery.CreatedAt).Seconds())
	}
	out := e.sender.send(e.sendCtx, j, j.Delivery.Attempts+1)
	e.metrics.duration.Observe(out.attempt.Duration.Seconds())
	if out.ok {
		e.metrics.attempts.WithLabelValues("succeeded").Inc()
	} else {
		e.metrics.attempts.WithLabelValues("failed").Inc()
	}
	if !out.ok && e.sendCtx.Err() != nil {
		// Cut short by shutdown: not the receiver's fault, so not an
		// attempt. The lease goes back and the delivery is tried afresh.
		e.mu.Lock()
		e.interrupted = append(e.interrupted, j.Delivery.ID)
		e.mu.Unlock()
	} else {
		e.results <- e.result(j, out)
	}
	e.finish(j)
}

// finish frees the job's slot, handing it straight to the next queued job
// of the same webhook when there is one.
func (e *Engine) finish(j *hookshot.Job) {
	w := j.Delivery.WebhookID
	e.mu.Lock()
	defer e.mu.Unlock()
	if q := e.backlog[w]; len(q) > 0 {
		next := q[0]
		if len(q) == 1 {
			delete(e.backlog, w)
		} else {
			e.backlog[w] = q[1:]
		}
		e.backlogSize--
		select {
		case <-e.stopping:
			// Stop has already collected the backlog for release.
		default:
			e.startLocked(next)
			return
		}
	}
	e.inflight--
	if e.perWebhook[w]--; e.perWebhook[w] <= 0 {
		delete(e.perWebhook, w)
	}
}

// result decides what happens to the delivery after an attempt.
func (e *Engine) result(j *hookshot.Job, out outcome) *hookshot.Result {
	d := j.Delivery
	t := now()
	r := &hookshot.Result{
		Attempt:       out.attempt,
		WebhookID:     d.WebhookID,
		MaxAttempts:   d.MaxAttempts,
		NextAttemptAt: t,
	}
	n := out.attempt.Number
	switch {
	case out.ok:
		r.Status = hookshot.DeliverySucceeded
	case out.staleToken:
		// The token was refused, not the delivery: try again at once with
		// a fresh token, without spending one of the scheduled retries.
		r.Status = hookshot.DeliveryInProgress
		r.MaxAttempts++
	case n < d.MaxAttempts && len(e.cfg.Schedule) > 0:
		r.Status = hookshot.DeliveryInProgress
		r.NextAttemptAt = t.Add(e.cfg.Schedule[min(n-1, len(e.cfg.Schedule)-1)])
		e.mu.Lock()
		if e.nextRetry.IsZero() || r.NextAttemptAt.Before(e.nextRetry) {
			e.nextRetry = r.NextAttemptAt
		}
		e.mu.Unlock()
	default:
		r.Status = hookshot.DeliveryFailed
	}
	if d.Event == hookshot.EventValidation && r.Status != hookshot.DeliveryInProgress {
		v := hookshot.ValidationFailed
		if out.ok {
			v = hookshot.ValidationPassed
		}
		r.Validation = &v
	}
	if !out.ok {
		status := 0
		if out.attempt.Response != nil {
			status = out.attempt.Response.Status
		}
		e.log.Info("attempt failed",
			"delivery_id", d.ID, "webhook_id", d.WebhookID, "event", d.Event,
			"attempt", n, "status", status, "error", out.attempt.Error,
			"next", r.Status)
	}
	return r
}

// record writes results in batches: it blocks for the first result, then
// takes whatever else is already waiting, so an idle engine records each
// attempt at once and a busy one amortises a transaction over many.
func (e *Engine) record() {
	defer close(e.recDone)
	batch := make([]*hookshot.Result, 0, e.cfg.BatchSize)
	for r := range e.results {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < e.cfg.BatchSize {
			select {
			case r, ok := <-e.results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		e.flush(batch)
	}
}

func (e *Engine) flush(batch []*hookshot.Result) {
	var err error
	for try := 0; try < 8; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = e.queue.RecordResults(ctx, e.cfg.Owner, batch)
		cancel()
		if err == nil {
			break
		}
		e.log.Warn("recording attempts failed, retrying", "count", len(batch), "err", err)
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	if err != nil {
		// The leases stay with this process until they run out; then the
		// deliveries are attempted again, so nothing is lost, at worst
		// sent twice.
		e.log.Error("recording attempts failed, deliveries will be retried when their leases run out", "count", len(batch), "err", err)
		return
	}
	for _, r := range batch {
		if r.Status != hookshot.DeliveryInProgress {
			e.metrics.finished.WithLabelValues(string(r.Status)).Inc()
		}
	}
	e.Notify()
}

// now is the engine's clock, truncated to what both stores keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
