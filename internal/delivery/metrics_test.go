package delivery

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The counters of attempts, of their classes and of finished deliveries
// count each attempt once, on its own series.
func TestAttemptMetrics(t *testing.T) {
	q := newFakeQueue()
	ok := newReceiver(t, nil)
	gone := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	cfg := testConfig()
	cfg.Schedule = nil // one attempt each: the 500 fails its delivery for good
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	e := startEngine(t, q, cfg)
	q.add(newJob("a", 1, ok.URL), newJob("b", 1, ok.URL), newJob("c", 2, gone.URL))
	e.Notify()
	q.waitFinished(t, "a", "b", "c")

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				got[name] = c.GetValue()
			}
		}
	}
	for series, want := range map[string]float64{
		"hookshot_attempts_total,succeeded":            2,
		"hookshot_attempts_total,failed":               1,
		"hookshot_attempt_outcomes_total,2xx":          2,
		"hookshot_attempt_outcomes_total,5xx":          1,
		"hookshot_attempt_outcomes_total,timeout":      0,
		"hookshot_deliveries_finished_total,succeeded": 2,
		"hookshot_deliveries_finished_total,failed":    1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
}
