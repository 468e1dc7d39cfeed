package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
)

// These tests cover what the conformance suite cannot: behaviour across
// several Stores sharing one database, and PostgreSQL-only details.

var base = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func passedWebhook(t testing.TB, s hookshot.Store, study int64) *hookshot.Webhook {
	t.Helper()
	w := &hookshot.Webhook{
		StudyID: study, URL: "https://example.com/hook", Auth: hookshot.Auth{Type: hookshot.AuthHMAC},
		SealedCredentials: []byte{1, 2, 3}, Events: []string{hookshot.EventUpload},
		EventOptions: map[string]hookshot.EventOptions{hookshot.EventUpload: {Statuses: []string{"completed"}}},
		Active:       true, Validation: hookshot.Validation{Status: hookshot.ValidationPassed},
		CreatedAt: base, UpdatedAt: base,
	}
	if err := s.CreateWebhook(context.Background(), w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

func eventFor(study int64, payload string) *hookshot.Event {
	return &hookshot.Event{ID: uuid.NewString(), StudyID: study, Type: hookshot.EventUpload, Payload: []byte(payload),
		TraceParent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01", CreatedAt: base}
}

func deliveryFor(ev *hookshot.Event, w *hookshot.Webhook) *hookshot.Delivery {
	return &hookshot.Delivery{ID: uuid.Must(uuid.NewV7()).String(), WebhookID: w.ID, StudyID: ev.StudyID, EventID: ev.ID,
		Event: ev.Type, Status: hookshot.DeliveryInProgress, MaxAttempts: 3, NextAttemptAt: base,
		TraceParent: ev.TraceParent, CreatedAt: base, UpdatedAt: base}
}

func TestConcurrentIdempotentPublish(t *testing.T) {
	url := pgtest.URL(t)
	stores := []hookshot.Store{open(t, url), open(t, url), open(t, url), open(t, url)}
	ctx := context.Background()
	w := passedWebhook(t, stores[0], 7)
	key := &hookshot.IdempotencyKey{Key: "k1", RequestHash: "h", NotBefore: base.Add(-time.Hour)}

	pubs := make([]*hookshot.Publication, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := eventFor(7, `{"n": 1}`)
			pubs[i], errs[i] = s.PublishEvent(ctx, ev, []*hookshot.Delivery{deliveryFor(ev, w)}, key)
		}()
	}
	wg.Wait()
	fresh := 0
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("publish %d: %v", i, errs[i])
		}
		if !pubs[i].Replayed {
			fresh++
		}
		if pubs[i].Event.ID != pubs[0].Event.ID || len(pubs[i].Deliveries) != 1 || pubs[i].Deliveries[0].ID != pubs[0].Deliveries[0].ID {
			t.Errorf("publish %d answered event %s, publish 0 event %s", i, pubs[i].Event.ID, pubs[0].Event.ID)
		}
	}
	if fresh != 1 {
		t.Errorf("%d publishes created the event, want 1", fresh)
	}
	ds, err := stores[0].Deliveries(ctx, hookshot.DeliveryFilter{WebhookID: w.ID})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Deliveries = %d, %v; want 1 delivery", len(ds), err)
	}

	// Another request under the same key is refused; after expiry it is
	// a new publish.
	ev := eventFor(7, `{"n": 2}`)
	_, err = stores[0].PublishEvent(ctx, ev, nil, &hookshot.IdempotencyKey{Key: "k1", RequestHash: "other", NotBefore: base.Add(-time.Hour)})
	if !errors.Is(err, hookshot.ErrIdempotencyMismatch) {
		t.Fatalf("reused key: err = %v, want ErrIdempotencyMismatch", err)
	}
	ev.CreatedAt = base.Add(48 * time.Hour)
	pub, err := stores[0].PublishEvent(ctx, ev, nil, &hookshot.IdempotencyKey{Key: "k1", RequestHash: "other", NotBefore: base.Add(24 * time.Hour)})
	if err != nil || pub.Replayed || pub.Event.ID != ev.ID {
		t.Fatalf("expired key: %+v, %v; want a new publication", pub, err)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	w := passedWebhook(t, s, 1)
	payload := "{ \"status\" :\"completed\",  \"x\": 1, \"x\": 2}\n"
	ev := eventFor(1, payload)
	d := deliveryFor(ev, w)
	if _, err := s.PublishEvent(ctx, ev, []*hookshot.Delivery{d}, nil); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}

	jobs, err := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "a", Now: base, LeaseFor: time.Minute, Limit: 10, SkipWebhooks: []int64{w.ID + 1}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %d jobs, %v; want 1", len(jobs), err)
	}
	if string(jobs[0].Payload) != payload || jobs[0].Webhook.ID != w.ID || !bytes.Equal(jobs[0].Webhook.SealedCredentials, []byte{1, 2, 3}) {
		t.Fatalf("job = %+v", jobs[0])
	}
	// Leased: nobody else gets it until the lease runs out.
	if again, _ := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "b", Now: base.Add(59 * time.Second), LeaseFor: time.Minute, Limit: 10}); len(again) != 0 {
		t.Fatalf("claimed %d leased deliveries", len(again))
	}
	if err := s.ReleaseDeliveries(ctx, "a", []string{d.ID}); err != nil {
		t.Fatalf("release: %v", err)
	}
	jobs, err = s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "b", Now: base, LeaseFor: time.Minute, Limit: 10})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim after release = %d, %v; want 1", len(jobs), err)
	}

	// The stale owner's attempt is kept but changes nothing.
	record := func(owner string, n int, status hookshot.DeliveryStatus) {
		t.Helper()
		err := s.RecordResults(ctx, owner, []*hookshot.Result{{
			Attempt: &hookshot.Attempt{DeliveryID: d.ID, Number: n, StartedAt: base, Duration: 1500 * time.Microsecond,
				Request:  hookshot.AttemptRequest{URL: w.URL, Headers: http.Header{"X-A": {"1"}}, Body: []byte(payload)},
				Response: &hookshot.AttemptResponse{Status: 500, Headers: http.Header{"X-B": {"2"}}, Body: []byte("oops")},
				Error:    "status 500"},
			Status: status, NextAttemptAt: base.Add(time.Hour), MaxAttempts: 3, WebhookID: w.ID,
		}})
		if err != nil {
			t.Fatalf("RecordResults: %v", err)
		}
	}
	record("a", 1, hookshot.DeliveryFailed)
	record("b", 1, hookshot.DeliveryInProgress)
	got, attempts, err := s.Delivery(ctx, w.ID, d.ID)
	if err != nil {
		t.Fatalf("Delivery: %v", err)
	}
	if got.Status != hookshot.DeliveryInProgress || got.Attempts != 2 || !got.NextAttemptAt.Equal(base.Add(time.Hour)) {
		t.Errorf("delivery = %+v", got)
	}
	if len(attempts) != 2 || attempts[0].Number != 1 || attempts[1].Number != 2 {
		t.Fatalf("attempts = %+v", attempts)
	}
	a := attempts[1]
	if string(a.Request.Body) != payload || a.Duration != 1500*time.Microsecond || a.Response.Status != 500 ||
		a.Response.Headers.Get("X-B") != "2" || a.Request.Headers.Get("X-A") != "1" || !a.StartedAt.Equal(base) || a.StartedAt.Location() != time.UTC {
		t.Errorf("attempt = %+v", a)
	}

	// Resend.
	if r, err := s.ResendDelivery(ctx, w.ID, d.ID, base, nil); err != nil || r.MaxAttempts != d.MaxAttempts+1 || !r.NextAttemptAt.Equal(base) {
		t.Fatalf("retry now: %+v, %v", r, err)
	}
	if _, err := s.ResendDelivery(ctx, w.ID, "nope", base, nil); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("resend missing: %v", err)
	}

	// Deleting the webhook takes the deliveries along; a result for one
	// of them is skipped.
	if err := s.DeleteWebhook(ctx, 1, w.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	record("b", 3, hookshot.DeliverySucceeded)
	if _, _, err := s.Delivery(ctx, w.ID, d.ID); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("delivery after delete: %v", err)
	}
}

func TestValidationDelivery(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	w := &hookshot.Webhook{StudyID: 3, URL: "https://example.com", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Events: []string{hookshot.EventUpload}, Active: true, Validation: hookshot.Validation{Status: hookshot.ValidationPending}}
	v := &hookshot.Delivery{ID: uuid.NewString(), StudyID: 3, Event: hookshot.EventValidation, Status: hookshot.DeliveryInProgress,
		MaxAttempts: 1, NextAttemptAt: base, ValidationCode: "code", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateWebhook(ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if w.ID == 0 || v.WebhookID != w.ID || w.Validation.DeliveryID != v.ID || w.CreatedAt.IsZero() {
		t.Fatalf("webhook %+v, validation %+v", w, v)
	}
	jobs, err := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "a", Now: base, LeaseFor: time.Minute, Limit: 10})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d, %v", len(jobs), err)
	}
	passed := hookshot.ValidationPassed
	body := jobs[0].Payload
	err = s.RecordResults(ctx, "a", []*hookshot.Result{{
		Attempt: &hookshot.Attempt{DeliveryID: v.ID, Number: 1, StartedAt: base, Duration: time.Second,
			Request: hookshot.AttemptRequest{URL: w.URL, Body: body}, Response: &hookshot.AttemptResponse{Status: 200}},
		Status: hookshot.DeliverySucceeded, NextAttemptAt: base, MaxAttempts: 1, Validation: &passed, WebhookID: w.ID,
	}})
	if err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	got, err := s.Webhook(ctx, 3, w.ID)
	if err != nil {
		t.Fatalf("Webhook: %v", err)
	}
	if got.Validation.Status != passed || got.Validation.CheckedAt == nil || !got.Validation.CheckedAt.Equal(base) {
		t.Errorf("validation = %+v", got.Validation)
	}
	_, attempts, err := s.Delivery(ctx, w.ID, v.ID)
	if err != nil || len(attempts) != 1 || !bytes.Equal(attempts[0].Request.Body, body) || attempts[0].Response.Headers != nil {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
	if _, err := s.Webhook(ctx, 4, w.ID); !errors.Is(err, hookshot.ErrNotFound) {
		t.Errorf("other study: %v", err)
	}
}
