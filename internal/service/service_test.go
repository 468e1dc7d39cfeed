package service_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/internal/sqlite"
)

// root is the admin that tests set things up as.
var root = &hookshot.Principal{Name: "test", Admin: true}

// fixture is every service over one real SQLite file, on a fake clock.
type fixture struct {
	store    *sqlite.Store
	box      *credential.Box
	clock    *clock.Fake
	webhooks *service.Webhooks
	events   *service.Events
	accounts *service.Accounts
	sessions *service.Sessions
}

// start is where the fixtures' clocks begin: a fixed instant, so that a
// test that forgets to move the clock cannot pass by luck of the hour.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cat, err := catalog.New()
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, credential.KeySize)
	_, _ = rand.Read(key)
	box, err := credential.New(key)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start)
	return &fixture{
		store:    store,
		box:      box,
		clock:    clk,
		webhooks: service.NewWebhooks(store, cat, box, nil, clk, service.WebhooksConfig{}),
		events:   service.NewEvents(store, cat, nil, clk, service.EventsConfig{Schedule: []time.Duration{time.Minute}}),
		accounts: service.NewAccounts(store, clk),
		sessions: service.NewSessions(store, clk),
	}
}

// webhook creates a webhook of the study, subscribed to uploads, as root.
func (f *fixture) webhook(t testing.TB, studyID int64) *hookshot.Webhook {
	t.Helper()
	w, err := f.webhooks.Create(context.Background(), root, studyID, service.WebhookInput{URL: "https://receiver.example/hook", Events: []string{hookshot.EventUpload}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// finishDue answers every due delivery with a 200, as the engine would
// after a successful attempt: validations pass, deliveries succeed.
func (f *fixture) finishDue(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	jobs, err := f.store.ClaimDeliveries(ctx, hookshot.Claim{Owner: "test", Now: now, LeaseFor: time.Minute, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var results []*hookshot.Result
	for _, j := range jobs {
		r := &hookshot.Result{
			Attempt: &hookshot.Attempt{DeliveryID: j.Delivery.ID, Number: j.Delivery.Attempts + 1, StartedAt: now,
				Request: hookshot.AttemptRequest{URL: j.Webhook.URL}, Response: &hookshot.AttemptResponse{Status: 200}},
			Status:        hookshot.DeliverySucceeded,
			NextAttemptAt: now,
			MaxAttempts:   j.Delivery.MaxAttempts,
			WebhookID:     j.Webhook.ID,
		}
		if j.Delivery.Event == hookshot.EventValidation {
			passed := hookshot.ValidationPassed
			r.Validation = &passed
		}
		results = append(results, r)
	}
	if err := f.store.RecordResults(ctx, "test", results); err != nil {
		t.Fatal(err)
	}
}

// validatedWebhook is webhook, validated: it receives events, and its
// validation delivery has finished and can be resent.
func (f *fixture) validatedWebhook(t testing.TB, studyID int64) *hookshot.Webhook {
	t.Helper()
	w := f.webhook(t, studyID)
	f.finishDue(t)
	got, err := f.store.Webhook(context.Background(), studyID, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Validation.Status != hookshot.ValidationPassed {
		t.Fatalf("webhook %d validation %s after finishDue, want passed", w.ID, got.Validation.Status)
	}
	return got
}

// account creates an account as root.
func (f *fixture) account(t testing.TB, in service.AccountInput) *hookshot.Account {
	t.Helper()
	a, err := f.accounts.Create(context.Background(), root, in)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// uploadPayload is a valid upload event of the study.
func uploadPayload(studyID int64) []byte {
	return fmt.Appendf(nil, `{"status": "started", "uploadId": "1", "subjectId": "44732", "studyId": "%d"}`, studyID)
}
