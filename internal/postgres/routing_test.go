package postgres_test

import (
	"context"
	"testing"
	"time"

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
