package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// backlogFresh is how long one reading of the backlog serves scrapes: a
// few scrapers, or several Prometheus servers, cost the database one
// query per period, however often they come.
const backlogFresh = 2 * time.Second

// backlogTimeout bounds the query, so a slow database delays a scrape by
// no more than this.
const backlogTimeout = 2 * time.Second

// BacklogCollector serves the queue's backlog as Prometheus gauges, read
// from the database at scrape time (at most once per backlogFresh), so
// they describe every process sharing the database, not one. When the
// database cannot be read the gauges are left out of the scrape, which
// Prometheus's absent() can alert on, and a WARN line says why.
type BacklogCollector struct {
	reader hookshot.BacklogReader
	clock  clock.Clock
	log    *slog.Logger

	inProgress, due, oldestAge *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time // on the machine's monotonic clock
	last   hookshot.Backlog
	err    error
}

// NewBacklogCollector returns the collector of r's backlog; clk (nil: the
// system clock) tells "now" as the engine does.
func NewBacklogCollector(r hookshot.BacklogReader, clk clock.Clock, log *slog.Logger) *BacklogCollector {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &BacklogCollector{
		reader: r,
		clock:  clk,
		log:    log,
		inProgress: prometheus.NewDesc("hookshot_deliveries_in_progress",
			"Deliveries in progress in the database: due, waiting for a retry, or being attempted.", nil, nil),
		due: prometheus.NewDesc("hookshot_deliveries_due",
			"Deliveries due now that no process has claimed yet.", nil, nil),
		oldestAge: prometheus.NewDesc("hookshot_oldest_due_delivery_age_seconds",
			"How long the longest-waiting due delivery has been due; 0 when none is.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inProgress
	ch <- c.due
	ch <- c.oldestAge
}

// Collect implements prometheus.Collector.
func (c *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	b, err := c.read()
	if err != nil {
		return
	}
	age := 0.0
	if !b.OldestDue.IsZero() {
		age = max(0, c.clock.Now().Sub(b.OldestDue).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.inProgress, prometheus.GaugeValue, float64(b.InProgress))
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(b.Due))
	ch <- prometheus.MustNewConstMetric(c.oldestAge, prometheus.GaugeValue, age)
}

// read returns the last reading while it is fresh, a new one otherwise.
// A failure is kept as long as a reading, so a database that is down is
// not asked again by every scrape.
func (c *BacklogCollector) read() (hookshot.Backlog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && time.Since(c.readAt) < backlogFresh {
		return c.last, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	c.last, c.err = c.reader.Backlog(ctx, c.clock.Now())
	c.readAt = time.Now()
	if c.err != nil {
		c.log.Warn("reading the backlog for the metrics", "err", c.err)
	}
	return c.last, c.err
}
