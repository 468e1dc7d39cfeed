package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
)

// Two processes on one database: what one changes, a publish in the other
// routes by at once, though the other has the study's webhooks cached.
func TestRoutingSeesOtherProcess(t *testing.T) {
	url := pgtest.URL(t)
	changer, publisher := open(t, url), open(t, url)
	ctx := context.Background()
	const study = 42

	// routes is what a publish of an upload that completed would deliver
	// to, by the publisher's cache; read twice so that the second read is
	// a cache hit when nothing changed.
	routes := func(what string) []int64 {
		t.Helper()
		var ids []int64
		for range 2 {
			ws, err := publisher.RoutingWebhooks(ctx, study)
			if err != nil {
				t.Fatalf("%s: RoutingWebhooks: %v", what, err)
			}
			ids = ids[:0]
			for _, w := range ws {
				if w.Receives(hookshot.EventUpload, "completed") {
					ids = append(ids, w.ID)
				}
			}
		}
		return ids
	}
	want := func(what string, ids ...int64) {
		t.Helper()
		got := routes(what)
		if len(got) != len(ids) || (len(ids) == 1 && got[0] != ids[0]) {
			t.Fatalf("after %s the publisher routes to %v, want %v", what, got, ids)
		}
	}

	want("nothing yet")
	w := passedWebhook(t, changer, study)
	want("the other process created a webhook", w.ID)

	w.Events = []string{hookshot.EventRawProcessingComplete}
	if err := changer.UpdateWebhook(ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	want("the other process unsubscribed it")
	w.Events = []string{hookshot.EventUpload}
	if err := changer.UpdateWebhook(ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	want("the other process subscribed it again", w.ID)

	// The health check of the other process disables it on a 410.
	ev := eventFor(study, `{"status": "completed"}`)
	d := deliveryFor(ev, w)
	if _, err := changer.PublishEvent(ctx, ev, []*hookshot.Delivery{d}, nil); err != nil {
		t.Fatal(err)
	}
	jobs, err := changer.ClaimDeliveries(ctx, hookshot.Claim{Owner: "a", Now: base, LeaseFor: time.Minute, Limit: 10})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	gone := &hookshot.Result{
		Attempt: &hookshot.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: base, Duration: time.Millisecond,
			Request:  hookshot.AttemptRequest{URL: w.URL, Body: ev.Payload},
			Response: &hookshot.AttemptResponse{Status: 410}, Error: "status 410"},
		Status: hookshot.DeliveryFailed, NextAttemptAt: base, MaxAttempts: 3, WebhookID: w.ID, Event: ev.Type, Gone: true,
	}
	if err := changer.RecordResults(ctx, "a", []*hookshot.Result{gone}); err != nil {
		t.Fatal(err)
	}
	if gone.Disabled == nil {
		t.Fatal("the 410 did not disable the webhook")
	}
	want("the other process's health check disabled it")

	enabled, err := changer.Webhook(ctx, study, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	enabled.Active = true
	if err := changer.UpdateWebhook(ctx, enabled, nil, nil); err != nil {
		t.Fatal(err)
	}
	want("the other process enabled it", w.ID)

	if err := changer.DeleteWebhook(ctx, study, w.ID, nil); err != nil {
		t.Fatal(err)
	}
	want("the other process deleted it")
}

// The bump of a study's routing version waits for the commit, so that a
// transaction holding the study's row takes no lock after it. Here a
// recording-like transaction changes one webhook's validation and then
// the health of another while a person's edit of that other webhook is
// in flight: bumping at each statement, the recording would hold the
// study's row and wait for the edited webhook, the edit would hold that
// webhook and wait for the row, and PostgreSQL would abort one of them.
func TestRoutingBumpTakesNoLockBeforeCommit(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := context.Background()
	const study = 42
	validated, edited := passedWebhook(t, s, study), passedWebhook(t, s, study)
	before, err := s.RoutingVersion(ctx, study)
	if err != nil {
		t.Fatal(err)
	}
	connect := func() *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	recording, editing, watching := connect(), connect(), connect()
	var editPID uint32
	if err := editing.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&editPID); err != nil {
		t.Fatal(err)
	}

	rtx, err := recording.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback(ctx) //nolint:errcheck // committed below unless the test failed
	if _, err := rtx.Exec(ctx, `UPDATE webhooks SET validation_status = 'failed' WHERE id = $1`, validated.ID); err != nil {
		t.Fatal(err)
	}
	edit := make(chan error, 1)
	go func() {
		edit <- pgx.BeginFunc(ctx, editing, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE webhooks SET url = url || '?v=2' WHERE id = $1`, edited.ID)
			return err
		})
	}()
	// Go on once the edit committed or waits for a lock (which it does
	// only if the recording's bump was not deferred).
	var editErr error
	editDone, editWaits := false, false
	for deadline := time.Now().Add(10 * time.Second); !editDone && !editWaits; {
		select {
		case editErr = <-edit:
			editDone = true
		case <-time.After(10 * time.Millisecond):
			if err := watching.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)`,
				editPID).Scan(&editWaits); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the edit neither committed nor waited")
			}
		}
	}
	_, healthErr := rtx.Exec(ctx, `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1`, edited.ID)
	var commitErr error
	if healthErr == nil {
		commitErr = rtx.Commit(ctx)
	}
	if !editDone {
		select {
		case editErr = <-edit:
		case <-time.After(10 * time.Second):
			t.Fatal("the edit did not finish")
		}
	}
	if healthErr != nil || commitErr != nil || editErr != nil {
		t.Fatalf("recording: %v, commit %v; edit: %v; want both committed", healthErr, commitErr, editErr)
	}
	if after, err := s.RoutingVersion(ctx, study); err != nil || after != before+2 {
		t.Errorf("routing version %d after two changes from %d (%v), want %d", after, before, err, before+2)
	}
}

// BenchmarkRouting compares what a publish reads to route an event to 10
// webhooks: the whole list as Webhooks reads it (what publish read before
// the routing cache), and RoutingWebhooks, one version row and the cache.
func BenchmarkRouting(b *testing.B) {
	s := open(b, pgtest.URL(b))
	ctx := context.Background()
	const study = 189
	for range 10 {
		passedWebhook(b, s, study)
	}
	for _, read := range []struct {
		name string
		fn   func(context.Context, int64) ([]*hookshot.Webhook, error)
	}{{"Webhooks", s.Webhooks}, {"RoutingWebhooks", s.RoutingWebhooks}} {
		b.Run(read.name, func(b *testing.B) {
			for b.Loop() {
				if ws, err := read.fn(ctx, study); err != nil || len(ws) != 10 {
					b.Fatalf("%d webhooks, %v", len(ws), err)
				}
			}
		})
	}
}
