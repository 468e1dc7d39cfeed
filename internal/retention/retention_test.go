package retention_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/retention"
	"github.com/hookshot/hookshot/internal/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hookshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// publishFinished stores n events, each with one delivery to w that
// finished at at.
func publishFinished(t *testing.T, s hookshot.Store, w *hookshot.Webhook, n int, at time.Time) {
	t.Helper()
	for range n {
		ev := &hookshot.Event{ID: uuid.NewString(), StudyID: w.StudyID, Type: hookshot.EventUpload, Payload: []byte(`{}`), CreatedAt: at}
		d := &hookshot.Delivery{ID: uuid.NewString(), WebhookID: w.ID, StudyID: w.StudyID, Event: ev.Type,
			Status: hookshot.DeliverySucceeded, Attempts: 1, MaxAttempts: 1, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
		if _, err := s.PublishEvent(t.Context(), ev, []*hookshot.Delivery{d}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A pass runs batches until nothing old is left, keeps what is within
// the retention, and counts what it deleted by table.
func TestPrunePass(t *testing.T) {
	s := openStore(t)
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	w := &hookshot.Webhook{StudyID: 189, URL: "https://receiver.example/", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Events: []string{hookshot.EventUpload}, Active: true}
	if err := s.CreateWebhook(t.Context(), w, nil, nil); err != nil {
		t.Fatal(err)
	}
	publishFinished(t, s, w, 7, clk.Now().Add(-2*time.Hour))
	publishFinished(t, s, w, 3, clk.Now().Add(-time.Minute))

	reg := prometheus.NewRegistry()
	p := retention.New(s, retention.Config{Retention: time.Hour, BatchSize: 2, Pause: -1, Clock: clk, Registerer: reg})
	counted, err := p.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := hookshot.PruneCounts{Deliveries: 7, Events: 7}
	if got != want || counted != want {
		t.Errorf("Prune = %+v, Count before = %+v, want %+v", got, counted, want)
	}
	left, err := s.Deliveries(t.Context(), hookshot.DeliveryFilter{WebhookID: w.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 3 {
		t.Errorf("%d deliveries left, want the 3 within the retention", len(left))
	}
	if n := prunedRows(t, reg, "deliveries"); n != 7 {
		t.Errorf("hookshot_pruned_rows_total{table=deliveries} = %v, want 7", n)
	}
}

// Stop without Start returns at once, and Stop twice is harmless; Start
// after Stop does nothing.
func TestLifecycle(t *testing.T) {
	s := openStore(t)
	p := retention.New(s, retention.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	p.Start()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	p = retention.New(s, retention.Config{})
	p.Start()
	p.Start()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// prunedRows reads hookshot_pruned_rows_total of table from reg.
func prunedRows(t *testing.T, reg *prometheus.Registry, table string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hookshot_pruned_rows_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no hookshot_pruned_rows_total{table=%q}", table)
	return 0
}
