package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlite"
	"github.com/hookshot/hookshot/internal/storetest"
)

func open(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookshot.Store {
		return open(t, filepath.Join(t.TempDir(), "hookshot.db"))
	})
}

// A change whose audit entry cannot be written is not made. The entry's
// insert fails for real: a trigger, installed through a connection of its
// own, aborts it.
func TestAuditFailure(t *testing.T) {
	storetest.RunAuditFailure(t, func(t *testing.T) (hookshot.Store, func(t *testing.T)) {
		path := filepath.Join(t.TempDir(), "hookshot.db")
		return open(t, path), func(t *testing.T) {
			db, err := sql.Open("sqlite", path+"?_busy_timeout=10000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TRIGGER audit_log_broken BEFORE INSERT ON audit_log
				BEGIN SELECT RAISE(ABORT, 'audit_log is broken by the test'); END`); err != nil {
				t.Fatalf("breaking audit_log: %v", err)
			}
		}
	})
}

// Re-opening a database applies nothing again, and keeps its data.
func TestMigrateOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookshot.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	w := &hookshot.Webhook{StudyID: 1, URL: "https://receiver.example/", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Validation: hookshot.Validation{Status: hookshot.ValidationPending}}
	if err := s.CreateWebhook(ctx, w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	applied := func() map[string]int64 {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var v string
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			out[v] = at
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := applied()
	if len(first) != len(sqlite.Migrations()) {
		t.Fatalf("schema_migrations has %v, want every one of %v", first, sqlite.Migrations())
	}

	s = open(t, path)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if again := applied(); !reflect.DeepEqual(again, first) {
		t.Errorf("schema_migrations changed on reopening: %v, was %v", again, first)
	}
	if _, err := s.Webhook(ctx, 1, w.ID); err != nil {
		t.Errorf("webhook lost on reopening: %v", err)
	}
}

// Migrations are named like the PostgreSQL store's, in order.
func TestMigrations(t *testing.T) {
	got := sqlite.Migrations()
	if len(got) == 0 || got[0] != "0001_init" {
		t.Errorf("Migrations() = %v, want 0001_init first", got)
	}
}

// BenchmarkClaimRecord measures the queue's hot path: claiming batches of
// due deliveries and recording a result for each, as the engine does
// under load, in batches of 256 (a backlog) and of 16 (a light load).
// Reports deliveries (one claim plus one record) per second, and the
// process's CPU per delivery for the claim and for the recording, which
// unlike the time depends little on the disk's fsync.
func BenchmarkClaimRecord(b *testing.B) {
	for _, batch := range []int{256, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkClaimRecord(b, batch) })
	}
}

func benchmarkClaimRecord(b *testing.B, batch int) {
	const webhooks = 10
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	now := time.Now().UTC().Truncate(time.Microsecond)
	hooks := benchWebhooks(b, s, webhooks)
	payload := benchPayload
	// fill publishes events, each to every webhook, until n deliveries are
	// due; publishing is not part of the measurement.
	fill := func(n int) {
		for n > 0 {
			ev := &hookshot.Event{ID: newID(), StudyID: 1, Type: hookshot.EventUpload,
				Payload: payload, TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", CreatedAt: now}
			var ds []*hookshot.Delivery
			for _, w := range hooks[:min(len(hooks), n)] {
				ds = append(ds, &hookshot.Delivery{ID: newID(), WebhookID: w.ID, StudyID: 1,
					EventID: ev.ID, Event: ev.Type, Status: hookshot.DeliveryInProgress, MaxAttempts: 5,
					NextAttemptAt: now, TraceParent: ev.TraceParent, CreatedAt: now, UpdatedAt: now})
			}
			if _, err := s.PublishEvent(ctx, ev, ds, nil); err != nil {
				b.Fatal(err)
			}
			n -= len(ds)
		}
	}

	var delivered int
	var claimCPU, recordCPU time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fill(batch)
		b.StartTimer()
		cpu0 := processCPU()
		jobs, err := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "bench", Now: now, LeaseFor: time.Minute, Limit: batch})
		if err != nil {
			b.Fatal(err)
		}
		cpu1 := processCPU()
		results := make([]*hookshot.Result, len(jobs))
		for k, j := range jobs {
			results[k] = &hookshot.Result{
				Attempt: &hookshot.Attempt{DeliveryID: j.Delivery.ID, Number: j.Delivery.Attempts + 1,
					StartedAt: now, Duration: 42 * time.Millisecond,
					Request: hookshot.AttemptRequest{URL: j.Webhook.URL, Body: j.Payload, Headers: map[string][]string{
						"Content-Type": {"application/json; charset=utf-8"}, "X-Actigraph-Delivery": {j.Delivery.ID}}},
					Response: &hookshot.AttemptResponse{Status: 200, Body: []byte("ok")}},
				Status:        hookshot.DeliverySucceeded,
				NextAttemptAt: now,
				MaxAttempts:   j.Delivery.MaxAttempts,
				WebhookID:     j.Delivery.WebhookID,
				Event:         j.Delivery.Event,
			}
		}
		cpu2 := processCPU()
		if err := s.RecordResults(ctx, "bench", results); err != nil {
			b.Fatal(err)
		}
		claimCPU += cpu1 - cpu0
		recordCPU += processCPU() - cpu2
		delivered += len(jobs)
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
	if delivered > 0 {
		b.ReportMetric(float64(claimCPU.Microseconds())/float64(delivered), "claim-cpu-µs/delivery")
		b.ReportMetric(float64(recordCPU.Microseconds())/float64(delivered), "record-cpu-µs/delivery")
	}
}

// newID is an id as the service makes them: UUIDv7, in time order, so
// that recent rows sit together in the indexes on id.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
