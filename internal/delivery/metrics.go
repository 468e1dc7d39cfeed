package delivery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
)

// metrics are the engine's Prometheus series. They count and time; they
// never carry a URL, a payload or a credential.
type metrics struct {
	attempts *prometheus.CounterVec
	classes  *prometheus.CounterVec
	finished *prometheus.CounterVec
	disabled *prometheus.CounterVec
	duration prometheus.Histogram
	delay    prometheus.Histogram
	inFlight prometheus.GaugeFunc
	// handedOff counts deliveries a publish gave the engine directly.
	handedOff prometheus.Counter

	// The series every attempt counts on, looked up once rather than by
	// label values, which hashes them on every call. They are shown from
	// the start, at 0.
	succeeded, failed prometheus.Counter
	byClass           map[class]prometheus.Counter
	finishedAs        map[hookshot.DeliveryStatus]prometheus.Counter
}

// outcome counts an attempt by whether it succeeded.
func (m *metrics) outcome(ok bool) {
	if ok {
		m.succeeded.Inc()
	} else {
		m.failed.Inc()
	}
}

// class counts a recorded attempt of class c.
func (m *metrics) class(c class) {
	if counter, ok := m.byClass[c]; ok {
		counter.Inc()
		return
	}
	m.classes.WithLabelValues(string(c)).Inc()
}

// finish counts a delivery that reached final status s.
func (m *metrics) finish(s hookshot.DeliveryStatus) {
	if counter, ok := m.finishedAs[s]; ok {
		counter.Inc()
		return
	}
	m.finished.WithLabelValues(string(s)).Inc()
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookshot_attempts_total",
			Help: "Attempts made by this process, by outcome (succeeded or failed).",
		}, []string{"outcome"}),
		classes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookshot_attempt_outcomes_total",
			Help: "Attempts recorded by this process, by class: the receiver's status class (2xx, 3xx, 4xx, 5xx), or timeout, tls, connect, refused (by the address guard) or other.",
		}, []string{"class"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookshot_deliveries_finished_total",
			Help: "Deliveries that reached a final status in this process, by status.",
		}, []string{"status"}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookshot_webhooks_disabled_total",
			Help: "Webhooks this process disabled by itself, by reason (failing or gone).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookshot_attempt_duration_seconds",
			Help:    "Time from connecting to reading the capped response body.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookshot_delivery_delay_seconds",
			Help:    "Time from a delivery's creation to the start of its first attempt.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}),
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookshot_attempts_in_flight",
			Help: "Attempts in flight in this process.",
		}, func() float64 {
			e.mu.Lock()
			defer e.mu.Unlock()
			return float64(e.inflight)
		}),
		handedOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookshot_deliveries_handed_off_total",
			Help: "Deliveries that a publish in this process leased to its engine and handed over directly, without a claim.",
		}),
	}
	// Both reasons are shown from the start, at 0, so that an alert on
	// either has a series to watch.
	m.disabled.WithLabelValues(hookshot.DisabledFailing)
	m.disabled.WithLabelValues(hookshot.DisabledGone)
	m.succeeded = m.attempts.WithLabelValues("succeeded")
	m.failed = m.attempts.WithLabelValues("failed")
	m.byClass = make(map[class]prometheus.Counter, len(classes))
	for _, c := range classes {
		m.byClass[c] = m.classes.WithLabelValues(string(c))
	}
	m.finishedAs = map[hookshot.DeliveryStatus]prometheus.Counter{
		hookshot.DeliverySucceeded: m.finished.WithLabelValues(string(hookshot.DeliverySucceeded)),
		hookshot.DeliveryFailed:    m.finished.WithLabelValues(string(hookshot.DeliveryFailed)),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.classes, m.finished, m.disabled, m.duration, m.delay, m.inFlight, m.handedOff)
	}
	return m
}
