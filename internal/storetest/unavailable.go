package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// Readier is what a store offers for /readyz: a probe of reads and writes
// whose answer may be kept for about a second (sqlstore.Store.Ready).
type Readier interface {
	Ready(ctx context.Context) error
}

// RunUnavailable checks SPEC §13 on a store whose database fails for real:
// newStore returns a fresh store, as Run's does, with breakIt, which makes
// its database refuse writes (cut off, full, read-only) and restore, which
// undoes that:
//
//	func TestUnavailable(t *testing.T) {
//		storetest.RunUnavailable(t, func(t *testing.T) (hookshot.Store, func(t *testing.T), func(t *testing.T)) { ... })
//	}
//
// While broken, every write fails with an error that wraps
// hookshot.ErrStorageUnavailable (so the API answers 503), as does Ready;
// once restored, Ready recovers within seconds, the writes that failed
// turn out to have changed nothing, and the same store, not reopened,
// works again: the attempt of a job claimed before the failure is
// recorded, and a new publication is claimed.
func RunUnavailable(t *testing.T, newStore func(t *testing.T) (store hookshot.Store, breakIt, restore func(t *testing.T))) {
	var breakIt, restore func(t *testing.T)
	f := newFixture(t, func(t *testing.T) hookshot.Store {
		s, b, r := newStore(t)
		breakIt, restore = b, r
		return s
	})
	readier, ok := f.store.(Readier)
	if !ok {
		t.Fatalf("%T has no Ready method", f.store)
	}
	accounts, ok := f.store.(hookshot.AccountStore)
	if !ok {
		t.Fatalf("%T is not a hookshot.AccountStore", f.store)
	}
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	jobs := f.claimOnly("owner-a", f.now, d)

	breakIt(t)
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, hookshot.ErrStorageUnavailable) {
			t.Errorf("%s on a broken database: %v, want an error wrapping ErrStorageUnavailable", what, err)
		}
		if code := hookshot.ErrorCode(err); code != hookshot.EUnavailable {
			t.Errorf("%s on a broken database: code %q, want %q (503)", what, code, hookshot.EUnavailable)
		}
	}
	ctx := f.ctx
	unavailable("Ready", readier.Ready(ctx))
	unavailable("CreateWebhook", f.store.CreateWebhook(ctx, f.newWebhook(studyA), nil, f.newEntry()))
	edited := *w
	edited.URL = "https://elsewhere.example/hooks"
	unavailable("UpdateWebhook", f.store.UpdateWebhook(ctx, &edited, nil, nil))
	unavailable("DeleteWebhook", f.store.DeleteWebhook(ctx, studyA, w.ID, nil))
	lost := f.newEvent(studyA)
	_, err := f.store.PublishEvent(ctx, lost, []*hookshot.Delivery{f.newDelivery(w, lost, f.now)}, nil)
	unavailable("PublishEvent", err)
	_, err = f.store.ClaimDeliveries(ctx, hookshot.Claim{Owner: "owner-b", Now: f.at(2 * lease), LeaseFor: lease, Limit: 10})
	unavailable("ClaimDeliveries", err)
	result := &hookshot.Result{Attempt: f.newAttempt(jobs[0].Delivery, 1, jobs[0].Payload), Status: hookshot.DeliverySucceeded,
		NextAttemptAt: f.at(time.Second), MaxAttempts: d.MaxAttempts, WebhookID: w.ID}
	unavailable("RecordResults", f.store.RecordResults(ctx, "owner-a", []*hookshot.Result{result}))
	unavailable("CreateAccount", accounts.CreateAccount(ctx, &hookshot.Account{Email: "outage@example.org", CreatedAt: f.now, UpdatedAt: f.now}, nil))

	restore(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := readier.Ready(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready 15s after the database was restored: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	hooks, err := f.store.Webhooks(ctx, studyA)
	if err != nil {
		t.Fatalf("Webhooks after the restore: %v", err)
	}
	if len(hooks) != 1 || hooks[0].URL != w.URL {
		t.Fatalf("webhooks after the failed writes: %d, want the one, unchanged", len(hooks))
	}
	if ds, err := f.store.Deliveries(ctx, hookshot.DeliveryFilter{WebhookID: w.ID, Limit: 10}); err != nil || len(ds) != 1 {
		t.Fatalf("deliveries after the failed publish: %d (%v), want the 1 from before", len(ds), err)
	}
	if _, err := accounts.AccountByEmail(ctx, "outage@example.org"); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("the account whose create failed: %v, want ErrNotFound", err)
	}
	f.record("owner-a", result)
	if got, _, err := f.store.Delivery(ctx, w.ID, d.ID); err != nil || got.Status != hookshot.DeliverySucceeded {
		t.Fatalf("the delivery recorded after the restore: %+v (%v), want succeeded", got, err)
	}
	next := f.enqueue(w, f.at(time.Second))
	f.claimOnly("owner-a", f.at(time.Second), next)
}
