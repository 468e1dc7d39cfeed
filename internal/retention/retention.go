// Package retention deletes what Hookshot no longer keeps (SPEC §12):
// finished deliveries with their attempts and old events after the
// retention, idempotency keys after their window, audit entries after the
// audit retention. A Pruner does it in passes of small batches, each a
// short transaction of its own, so that publishing, delivering and the API
// wait behind one batch at most; in the background every interval, or
// once for "hookshot prune".
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// Defaults of Config.
const (
	DefaultRetention      = 720 * time.Hour
	DefaultAuditRetention = 8760 * time.Hour
	DefaultInterval       = time.Minute
	// DefaultKeyWindow is how long publishing remembers an Idempotency-Key
	// (SPEC §7), after which the key may go.
	DefaultKeyWindow = 24 * time.Hour
	// DefaultBatchSize rows of a table per transaction: on SQLite a batch
	// of finished deliveries with their attempts takes a few milliseconds
	// (see the soak benchmark in the README), short enough for a claim or
	// a publish to wait behind it unnoticed.
	DefaultBatchSize = 200
	// DefaultPause between batches lets the writers queued behind one
	// batch go before the next, rather than racing it for the connection.
	DefaultPause = 10 * time.Millisecond
)

// MinRetention is the shortest retention accepted: tests use seconds.
const MinRetention = time.Second

// Config says what a Pruner keeps and how it paces itself. Zero fields
// take the defaults above.
type Config struct {
	Retention      time.Duration
	AuditRetention time.Duration
	Interval       time.Duration
	KeyWindow      time.Duration
	BatchSize      int
	Pause          time.Duration

	Clock      clock.Clock
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Pruner runs prune passes on a store.
type Pruner struct {
	store hookshot.Pruner
	cfg   Config

	pruned  *prometheus.CounterVec
	batches prometheus.Histogram

	mu       sync.Mutex
	started  bool
	stopping chan struct{} // closed by the first Stop
	done     chan struct{} // closed when the loop has ended
	cancel   context.CancelFunc
	stopOnce sync.Once
}

// New returns a Pruner of store; Start runs it in the background.
func New(store hookshot.Pruner, cfg Config) *Pruner {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.AuditRetention <= 0 {
		cfg.AuditRetention = DefaultAuditRetention
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.KeyWindow <= 0 {
		cfg.KeyWindow = DefaultKeyWindow
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Pause < 0 {
		cfg.Pause = 0
	} else if cfg.Pause == 0 {
		cfg.Pause = DefaultPause
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pruner{
		store: store,
		cfg:   cfg,
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookshot_pruned_rows_total",
			Help: "Rows deleted by retention in this process, by table.",
		}, []string{"table"}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookshot_prune_batch_duration_seconds",
			Help:    "Time one prune batch took, all its tables; writers wait behind at most one table's share of it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, t := range (hookshot.PruneCounts{}).Tables() {
		p.pruned.WithLabelValues(t.Table) // every table shows, at 0
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(p.pruned, p.batches)
	}
	return p
}

// prune is what one pass deletes, by the clock now.
func (p *Pruner) prune() hookshot.Prune {
	now := p.cfg.Clock.Now()
	return hookshot.Prune{
		FinishedBefore: now.Add(-p.cfg.Retention),
		KeysBefore:     now.Add(-p.cfg.KeyWindow),
		AuditBefore:    now.Add(-p.cfg.AuditRetention),
		Limit:          p.cfg.BatchSize,
	}
}

// Count counts what a pass would delete now, deleting nothing.
func (p *Pruner) Count(ctx context.Context) (hookshot.PruneCounts, error) {
	return p.store.CountPrunable(ctx, p.prune())
}

// Prune runs one pass now: batches until one comes back short in every
// table. It returns what it deleted, also when it fails or ctx ends part
// way (what the batches before committed stays deleted).
func (p *Pruner) Prune(ctx context.Context) (hookshot.PruneCounts, error) {
	req := p.prune()
	var total hookshot.PruneCounts
	for {
		start := time.Now()
		c, err := p.store.PruneBatch(ctx, req)
		p.batches.Observe(time.Since(start).Seconds())
		total.Add(c)
		for _, t := range c.Tables() {
			if t.Rows > 0 {
				p.pruned.WithLabelValues(t.Table).Add(float64(t.Rows))
			}
		}
		if err != nil {
			return total, err
		}
		limit := int64(req.Limit)
		if c.Deliveries < limit && c.Events < limit && c.IdempotencyKeys < limit && c.AuditEntries < limit {
			if r, ok := p.store.(hookshot.Reclaimer); ok {
				if err := r.Reclaim(ctx, total); err != nil {
					return total, err
				}
			}
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(p.cfg.Pause):
		}
	}
}

// Start runs a pass at once and then every Interval, until Stop. Later
// calls, and calls after Stop, do nothing.
func (p *Pruner) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stopping:
		return
	default:
	}
	if p.started {
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.loop(ctx)
}

func (p *Pruner) loop(ctx context.Context) {
	defer close(p.done)
	ticker := time.NewTicker(p.cfg.Interval)
	defer ticker.Stop()
	for {
		p.pass(ctx)
		select {
		case <-p.stopping:
			return
		case <-ticker.C:
		}
	}
}

// pass runs Prune and logs what it did; a failure waits for the next
// interval, since the store's errors (locked, unreachable) pass by
// themselves.
func (p *Pruner) pass(ctx context.Context) {
	start := time.Now()
	c, err := p.Prune(ctx)
	if errors.Is(err, context.Canceled) {
		return
	}
	attrs := []any{"duration_ms", time.Since(start).Milliseconds()}
	for _, t := range c.Tables() {
		attrs = append(attrs, t.Table, t.Rows)
	}
	if err != nil {
		p.cfg.Logger.Warn("pruning failed; trying again at the next interval", append(attrs, "err", err)...)
		return
	}
	if c != (hookshot.PruneCounts{}) {
		p.cfg.Logger.Info("pruned", attrs...)
	}
}

// Stop ends the background passes, cutting a pass in progress short (its
// batch in flight rolls back), and waits for it to end or for ctx. Stop
// without Start returns at once; it is safe to call twice.
func (p *Pruner) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		close(p.stopping)
		started := p.started
		if p.cancel != nil {
			p.cancel()
		}
		p.mu.Unlock()
		if !started {
			close(p.done)
		}
	})
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the pruner to stop: %w", ctx.Err())
	}
}
