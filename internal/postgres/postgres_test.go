package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
	"github.com/hookshot/hookshot/internal/postgres"
	"github.com/hookshot/hookshot/internal/storetest"
)

// open opens a Store on url and closes it when the test ends.
func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a Store in a schema of its own.
func newStore(t *testing.T) hookshot.Store {
	t.Helper()
	return open(t, pgtest.URL(t))
}

// TestStore runs the conformance suite, each test in a schema of its own.
func TestStore(t *testing.T) {
	storetest.Run(t, newStore)
}

// A change whose audit entry cannot be written is not made. The entry's
// insert fails for real: a trigger in the test's schema raises an error.
func TestAuditFailure(t *testing.T) {
	storetest.RunAuditFailure(t, func(t *testing.T) (hookshot.Store, func(t *testing.T)) {
		url := pgtest.URL(t)
		return open(t, url), func(t *testing.T) {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatalf("connecting: %v", err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `
				CREATE FUNCTION audit_log_broken() RETURNS trigger LANGUAGE plpgsql
					AS $$ BEGIN RAISE EXCEPTION 'audit_log is broken by the test'; END $$;
				CREATE TRIGGER audit_log_broken BEFORE INSERT ON audit_log
					FOR EACH ROW EXECUTE FUNCTION audit_log_broken()`); err != nil {
				t.Fatalf("breaking audit_log: %v", err)
			}
		}
	})
}

func TestMigrations(t *testing.T) {
	got := postgres.Migrations()
	if want := []string{"0001_init", "0002_accounts", "0003_sessions", "0004_retention", "0005_health", "0006_events", "0007_signatures", "0008_integrators", "0010_relays", "0011_routing", "0012_delivery_indexes", "0013_delivery_webhook_index", "0014_due_webhook"}; !slices.Equal(got, want) {
		t.Fatalf("Migrations() = %q, want %q", got, want)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each Open migrates; so, again, does Migrate.
			s, err := postgres.Open(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
	// Every migration is recorded exactly once.
	s := open(t, url)
	if _, err := s.Webhooks(ctx, 1); err != nil {
		t.Fatalf("schema not usable after concurrent migrations: %v", err)
	}
}

func TestWakeups(t *testing.T) {
	url := pgtest.URL(t)
	listener, publisher := open(t, url), open(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wakeups, err := listener.Wakeups(ctx)
	if err != nil {
		t.Fatalf("Wakeups: %v", err)
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	w := &hookshot.Webhook{
		StudyID: 1, URL: "https://example.com/hook", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Events: []string{hookshot.EventUpload}, Active: true,
		Validation: hookshot.Validation{Status: hookshot.ValidationPassed},
		CreatedAt:  now, UpdatedAt: now,
	}
	if err := publisher.CreateWebhook(ctx, w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	// A wakeup from before the publish (there should be none) would make
	// the test pass for the wrong reason.
	select {
	case <-wakeups:
		t.Fatal("woken before anything was published")
	case <-time.After(100 * time.Millisecond):
	}

	ev := &hookshot.Event{ID: uuid.NewString(), StudyID: 1, Type: hookshot.EventUpload, Payload: []byte(`{}`), CreatedAt: now}
	d := &hookshot.Delivery{
		ID: uuid.NewString(), WebhookID: w.ID, StudyID: 1, EventID: ev.ID, Event: ev.Type,
		Status: hookshot.DeliveryInProgress, MaxAttempts: 5, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if _, err := publisher.PublishEvent(ctx, ev, []*hookshot.Delivery{d}, nil); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	select {
	case <-wakeups:
	case <-time.After(10 * time.Second):
		t.Fatal("no wakeup within 10s of a publish through another store")
	}

	cancel()
	select {
	case _, ok := <-wakeups:
		for ok {
			_, ok = <-wakeups
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wakeups channel not closed after its context ended")
	}
}

func TestWakeupsReconnect(t *testing.T) {
	// The application name singles out this test's connections among
	// those of other tests sharing the server.
	app := "hookshot_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	url := pgtest.URL(t)
	listener, publisher := open(t, url+"&application_name="+app), open(t, url)
	ctx := context.Background()
	wakeups, err := listener.Wakeups(ctx)
	if err != nil {
		t.Fatalf("Wakeups: %v", err)
	}

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer admin.Close(ctx)
	var killed int
	// OFFSET 0 keeps the filter apart from the terminate: in one WHERE,
	// PostgreSQL may evaluate pg_terminate_backend first, on everyone.
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM (
		SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() OFFSET 0) mine`,
		app).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminating the listener's connection: %d terminated, %v", killed, err)
	}
	// Notifications sent while it was gone are lost, so a reconnect
	// wakes the receiver once.
	select {
	case <-wakeups:
	case <-time.After(10 * time.Second):
		t.Fatal("no wakeup after the listener reconnected")
	}

	w := &hookshot.Webhook{StudyID: 1, URL: "https://example.com/hook", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Events: []string{hookshot.EventUpload}, Validation: hookshot.Validation{Status: hookshot.ValidationPending}}
	v := &hookshot.Delivery{ID: uuid.NewString(), Event: hookshot.EventValidation, Status: hookshot.DeliveryInProgress,
		MaxAttempts: 1, NextAttemptAt: time.Now(), ValidationCode: "c"}
	if err := publisher.CreateWebhook(ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	select {
	case <-wakeups:
	case <-time.After(10 * time.Second):
		t.Fatal("no wakeup for a validation after the listener reconnected")
	}

	// Closing the store ends the listener.
	listener.Close()
	for range wakeups {
	}
}

// BenchmarkClaimRecord measures the queue's hot path: claim a batch of 256
// due deliveries, record a successful attempt for each.
func BenchmarkClaimRecord(b *testing.B) {
	const batch = 256
	url := pgtest.URL(b)
	s := open(b, url)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)

	const webhooks = 16
	var hooks []*hookshot.Webhook
	for i := 0; i < webhooks; i++ {
		w := &hookshot.Webhook{
			StudyID: 1, URL: fmt.Sprintf("https://example.com/hook/%d", i), Auth: hookshot.Auth{Type: hookshot.AuthNone},
			Events: []string{hookshot.EventUpload}, Active: true,
			Validation: hookshot.Validation{Status: hookshot.ValidationPassed},
			CreatedAt:  now, UpdatedAt: now,
		}
		if err := s.CreateWebhook(ctx, w, nil, nil); err != nil {
			b.Fatalf("CreateWebhook: %v", err)
		}
		hooks = append(hooks, w)
	}
	payload := []byte(`{"status":"completed","uploadId":"1","studyId":"1","subjectId":"2"}`)
	total := b.N * batch
	for published := 0; published < total; published += webhooks {
		ev := &hookshot.Event{ID: uuid.NewString(), StudyID: 1, Type: hookshot.EventUpload, Payload: payload, CreatedAt: now}
		var ds []*hookshot.Delivery
		for _, w := range hooks {
			ds = append(ds, &hookshot.Delivery{
				ID: uuid.Must(uuid.NewV7()).String(), WebhookID: w.ID, StudyID: 1, EventID: ev.ID, Event: ev.Type,
				Status: hookshot.DeliveryInProgress, MaxAttempts: 5, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
			})
		}
		if _, err := s.PublishEvent(ctx, ev, ds, nil); err != nil {
			b.Fatalf("PublishEvent: %v", err)
		}
	}

	// Claim and record run concurrently in the engine, and several
	// processes may share the queue: so do several workers here, each
	// claiming under its own owner.
	var done atomic.Int64
	var worker atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		owner := fmt.Sprintf("bench-%d", worker.Add(1))
		for pb.Next() {
			jobs, err := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: owner, Now: now.Add(time.Second), LeaseFor: time.Minute, Limit: batch})
			if err != nil {
				b.Errorf("ClaimDeliveries: %v", err)
				return
			}
			results := make([]*hookshot.Result, len(jobs))
			for j, job := range jobs {
				results[j] = &hookshot.Result{
					Attempt: &hookshot.Attempt{
						DeliveryID: job.Delivery.ID, Number: job.Delivery.Attempts + 1, StartedAt: now, Duration: time.Millisecond,
						Request:  hookshot.AttemptRequest{URL: job.Webhook.URL, Headers: http.Header{"Content-Type": {"application/json"}}, Body: job.Payload},
						Response: &hookshot.AttemptResponse{Status: 204},
					},
					Status: hookshot.DeliverySucceeded, NextAttemptAt: now, MaxAttempts: job.Delivery.MaxAttempts, WebhookID: job.Delivery.WebhookID,
				}
			}
			if err := s.RecordResults(ctx, owner, results); err != nil {
				b.Errorf("RecordResults: %v", err)
				return
			}
			done.Add(int64(len(jobs)))
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if done.Load() != int64(total) {
		b.Fatalf("delivered %d, want %d", done.Load(), total)
	}
	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "deliveries/s")
}
