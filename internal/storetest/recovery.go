package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var recoveryTests = []test{
	{"RecoverFailedInWindow", testRecoverFailedInWindow},
	{"UnreplayedEvents", testUnreplayedEvents},
	{"ReplayOnce", testReplayOnce},
	{"ReplayNeedsEnabledValidated", testReplayNeedsEnabledValidated},
}

// finish records one attempt of d that leaves it with status.
func (f *fixture) finish(d *hookshot.Delivery, status hookshot.DeliveryStatus) {
	f.t.Helper()
	f.record("engine", f.result(f.claimOne(d), status, f.now))
}

// RecoverDeliveries gives the failed event deliveries created in
// [since, until) one more attempt, due at now, and nothing else.
func testRecoverFailedInWindow(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	created := func(d time.Duration) func(*hookshot.Delivery) {
		return func(x *hookshot.Delivery) { x.CreatedAt, x.UpdatedAt = f.at(d), f.at(d) }
	}
	before := f.enqueue(w, f.now, created(-2*time.Hour))
	first := f.enqueue(w, f.now, created(-time.Hour))
	second := f.enqueue(w, f.now, created(-time.Minute))
	succeeded := f.enqueue(w, f.now, created(-time.Minute))
	atUntil := f.enqueue(w, f.now, created(0))
	theirs := f.enqueue(other, f.now, created(-time.Minute))
	for _, d := range []*hookshot.Delivery{before, first, second, atUntil, theirs} {
		f.finish(d, hookshot.DeliveryFailed)
	}
	f.finish(succeeded, hookshot.DeliverySucceeded)
	pending := f.enqueue(w, f.at(time.Hour), created(-time.Minute))
	v := f.newValidation(w)
	v.CreatedAt = f.at(-time.Minute)
	if err := f.store.UpdateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatal(err)
	}
	f.finish(v, hookshot.DeliveryFailed)

	e := f.newEntry()
	e.Detail = hookshot.AuditCount + " failed deliveries"
	now := f.at(time.Second)
	n, err := f.store.RecoverDeliveries(f.ctx, w.ID, f.at(-time.Hour), f.now, now, e)
	if err != nil || n != 2 {
		t.Fatalf("RecoverDeliveries: %d, %v; want 2", n, err)
	}
	if e.Detail != "2 failed deliveries" || e.ID == 0 {
		t.Errorf("audit entry %+v; want one saying 2", e)
	}
	for _, d := range []*hookshot.Delivery{first, second} {
		got, _ := f.delivery(w.ID, d.ID)
		if got.Status != hookshot.DeliveryInProgress || got.MaxAttempts != got.Attempts+1 || !got.NextAttemptAt.Equal(now) {
			t.Errorf("recovered %s: %s, %d of %d attempts, due %s", d.ID, got.Status, got.Attempts, got.MaxAttempts, got.NextAttemptAt)
		}
	}
	for d, want := range map[*hookshot.Delivery]hookshot.DeliveryStatus{before: hookshot.DeliveryFailed, atUntil: hookshot.DeliveryFailed,
		succeeded: hookshot.DeliverySucceeded, pending: hookshot.DeliveryInProgress, v: hookshot.DeliveryFailed} {
		if got, _ := f.delivery(w.ID, d.ID); got.Status != want {
			t.Errorf("delivery %s (%s) outside the recovery became %s", d.ID, d.Event, got.Status)
		}
	}
	if got, _ := f.delivery(other.ID, theirs.ID); got.Status != hookshot.DeliveryFailed {
		t.Errorf("another webhook's delivery became %s", got.Status)
	}
	claimed := map[string]bool{}
	for _, j := range f.claim("engine", now, 100) {
		claimed[j.Delivery.ID] = true
	}
	if !claimed[first.ID] || !claimed[second.ID] {
		t.Errorf("recovered deliveries not claimed at %s: %v", now, claimed)
	}
}

// publishAt publishes an event of study of type typ created at t with a
// delivery to each of ws.
func (f *fixture) publishAt(study int64, typ string, t time.Time, ws ...*hookshot.Webhook) *hookshot.Event {
	f.t.Helper()
	ev := f.newEvent(study)
	ev.Type, ev.CreatedAt = typ, t
	var ds []*hookshot.Delivery
	for _, w := range ws {
		d := f.newDelivery(w, ev, t)
		d.CreatedAt, d.UpdatedAt = t, t
		ds = append(ds, d)
	}
	f.publish(ev, ds, nil)
	return ev
}

func replayEventIDs(evs []*hookshot.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

// UnreplayedEvents lists, oldest first and a page at a time, the study's
// events in the window, of the types asked for, that have no delivery to
// the webhook.
func testUnreplayedEvents(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	var want []*hookshot.Event
	f.publishAt(studyA, hookshot.EventUpload, f.at(-2*time.Hour))
	for i := range 5 {
		want = append(want, f.publishAt(studyA, hookshot.EventUpload, f.at(-time.Hour+time.Duration(i)*time.Minute), other))
	}
	f.publishAt(studyA, hookshot.EventUpload, f.at(-30*time.Minute), w)
	f.publishAt(studyA, hookshot.EventDataRetrievalComplete, f.at(-30*time.Minute))
	f.publishAt(studyB, hookshot.EventUpload, f.at(-30*time.Minute))
	f.publishAt(studyA, hookshot.EventUpload, f.now)
	filter := hookshot.ReplayFilter{StudyID: studyA, WebhookID: w.ID, Types: []string{hookshot.EventUpload, hookshot.EventRawProcessingComplete},
		Since: f.at(-time.Hour), Until: f.now, Limit: 3}
	page, err := f.store.UnreplayedEvents(f.ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	last := page[len(page)-1]
	filter.After = &hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	rest, err := f.store.UnreplayedEvents(f.ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(replayEventIDs(append(page, rest...)))
	if got != fmt.Sprint(replayEventIDs(want)) || len(page) != 3 {
		t.Errorf("UnreplayedEvents gave %s (first page %d), want %s", got, len(page), fmt.Sprint(replayEventIDs(want)))
	}
	if string(page[0].Payload) != string(want[0].Payload) || page[0].TraceParent != want[0].TraceParent || !page[0].CreatedAt.Equal(want[0].CreatedAt) {
		t.Errorf("event read back as %+v", page[0])
	}
}

// ReplayDeliveries inserts a delivery per event only once, however often
// it is called with deliveries of the same events.
func testReplayOnce(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	evs := []*hookshot.Event{f.publishAt(studyA, hookshot.EventUpload, f.at(-time.Minute)), f.publishAt(studyA, hookshot.EventUpload, f.at(-time.Second))}
	replay := func() (int, *hookshot.AuditEntry, []*hookshot.Delivery) {
		var ds []*hookshot.Delivery
		for _, ev := range evs {
			ds = append(ds, f.newDelivery(w, ev, f.now))
		}
		e := f.newEntry()
		e.Detail = hookshot.AuditCount + " events"
		n, err := f.store.ReplayDeliveries(f.ctx, w.ID, ds, e)
		if err != nil {
			t.Fatalf("ReplayDeliveries: %v", err)
		}
		return n, e, ds
	}
	n, e, ds := replay()
	if n != 2 || e.Detail != "2 events" {
		t.Fatalf("first replay: %d, audit %q; want 2", n, e.Detail)
	}
	n, e, _ = replay()
	if n != 0 || e.Detail != "0 events" {
		t.Errorf("second replay: %d, audit %q; want 0", n, e.Detail)
	}
	got := f.list(hookshot.DeliveryFilter{WebhookID: w.ID})
	ids := deliveryIDs(got)
	sort.Strings(ids)
	want := deliveryIDs(ds)
	sort.Strings(want)
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("webhook's deliveries %v, want the first replay's %v", ids, want)
	}
	f.claimOnly("engine", f.now, ds...)
}

// ReplayDeliveries inserts nothing for a disabled or unvalidated webhook.
func testReplayNeedsEnabledValidated(t *testing.T, f *fixture) {
	ev := f.publishAt(studyA, hookshot.EventUpload, f.at(-time.Minute))
	for name, edit := range map[string]func(*hookshot.Webhook){
		"disabled": func(w *hookshot.Webhook) { w.Active = false },
		"pending":  func(w *hookshot.Webhook) { w.Validation.Status = hookshot.ValidationPending },
		"failed":   func(w *hookshot.Webhook) { w.Validation.Status = hookshot.ValidationFailed },
	} {
		w := f.createWebhook(studyA, edit)
		n, err := f.store.ReplayDeliveries(f.ctx, w.ID, []*hookshot.Delivery{f.newDelivery(w, ev, f.now)}, nil)
		if err != nil || n != 0 {
			t.Errorf("%s webhook: ReplayDeliveries %d, %v; want 0", name, n, err)
		}
	}
	_, err := f.store.ReplayDeliveries(f.ctx, 424242, nil, nil)
	wantErr(t, "ReplayDeliveries of an unknown webhook", err, hookshot.ErrNotFound)
}
