package storetest

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var handOffTests = []test{
	{"InsertedLeased", testHandOffLeased},
	{"RelaysAndDisabledDue", testHandOffNotLeased},
	{"Batch", testHandOffBatch},
	{"Replayed", testHandOffReplayed},
}

// leasedTo marks d to be inserted leased to owner until until, as a publish
// handing it to its engine does.
func leasedTo(d *hookshot.Delivery, owner string, until time.Time) *hookshot.Delivery {
	d.LeaseOwner, d.LeaseUntil = owner, until
	return d
}

// A delivery published with a LeaseOwner is stored leased as a claim
// leases: no claim takes it before the lease runs out, its owner records
// its attempt, and released it is due at once, in its place.
func testHandOffLeased(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	older := f.enqueue(w, f.at(-time.Second))
	ev := f.newEvent(studyA)
	handed := leasedTo(f.newDelivery(w, ev, f.now), "a", f.at(lease))
	pub := f.publish(ev, []*hookshot.Delivery{handed}, nil)
	if len(pub.Deliveries) != 1 || pub.Deliveries[0].LeaseOwner != "a" || !pub.Deliveries[0].LeaseUntil.Equal(f.at(lease)) {
		t.Fatalf("publication %+v, want the delivery leased to a until %s", pub.Deliveries[0], f.at(lease))
	}
	f.claimOnly("b", f.now, older)
	f.claimOnly("b", f.at(lease-time.Microsecond))
	if stored, _ := f.delivery(w.ID, handed.ID); stored.Status != hookshot.DeliveryInProgress || stored.Attempts != 0 || stored.LeaseOwner != "" {
		t.Fatalf("stored %+v, want in progress, no attempt, the lease not read back", stored)
	}

	// Its owner records an attempt: the delivery moves on.
	job := &hookshot.Job{Delivery: handed, Webhook: w, Payload: ev.Payload}
	f.record("a", f.result(job, hookshot.DeliveryInProgress, f.at(time.Hour)))
	if stored, attempts := f.delivery(w.ID, handed.ID); stored.Attempts != 1 || len(attempts) != 1 || !stored.NextAttemptAt.Equal(f.at(time.Hour)) {
		t.Fatalf("after its owner's result: %d attempts (%d stored), due %s; want 1, due in an hour", stored.Attempts, len(attempts), stored.NextAttemptAt)
	}

	// Another, handed over and released (its process stopping): due at once.
	ev2 := f.newEvent(studyA)
	released := leasedTo(f.newDelivery(w, ev2, f.now), "a", f.at(lease))
	f.publish(ev2, []*hookshot.Delivery{released}, nil)
	if err := f.store.ReleaseDeliveries(f.ctx, "a", []string{released.ID}); err != nil {
		t.Fatalf("ReleaseDeliveries: %v", err)
	}
	f.claimOnly("b", f.now, released)

	// A third, whose process died: due once the lease ran out, as are
	// the two b claimed.
	ev3 := f.newEvent(studyA)
	orphan := leasedTo(f.newDelivery(w, ev3, f.now), "gone", f.at(lease))
	f.publish(ev3, []*hookshot.Delivery{orphan}, nil)
	f.claimOnly("b", f.at(lease-time.Microsecond))
	f.claimOnly("b", f.at(lease), older, released, orphan)
}

// A relay's delivery and a disabled webhook's are not leased, whatever the
// publish asked: the relay's CLI claims the first, the second is held.
// Both come back with the lease cleared, beside an ordinary one leased.
func testHandOffNotLeased(t *testing.T, f *fixture) {
	ordinary := f.createWebhook(studyA)
	disabled := f.createWebhook(studyA, func(w *hookshot.Webhook) { w.Active = false })
	relay := f.createRelay(studyA, f.at(time.Hour))
	ev := f.newEvent(studyA)
	ds := []*hookshot.Delivery{
		leasedTo(f.newDelivery(relay, ev, f.now), "a", f.at(lease)),
		leasedTo(f.newDelivery(ordinary, ev, f.now), "a", f.at(lease)),
		leasedTo(f.newDelivery(disabled, ev, f.now), "a", f.at(lease)),
	}
	pub := f.publish(ev, ds, nil)
	if len(pub.Deliveries) != 3 {
		t.Fatalf("%d deliveries published, want 3", len(pub.Deliveries))
	}
	for i, want := range []string{"", "a", ""} {
		if d := pub.Deliveries[i]; d.LeaseOwner != want || (want == "") != d.LeaseUntil.IsZero() {
			t.Fatalf("delivery to webhook %d leased to %q until %s, want %q", d.WebhookID, d.LeaseOwner, d.LeaseUntil, want)
		}
	}
	if jobs := f.claimRelay(relay, f.now, f.at(time.Hour), 10); len(jobs) != 1 || jobs[0].Delivery.ID != ds[0].ID {
		t.Fatalf("the relay's CLI claimed %v, want its delivery", jobIDs(jobs))
	}
	f.claimOnly("b", f.now)
	disabled.Active = true
	if err := f.store.UpdateWebhook(f.ctx, disabled, nil, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	f.claimOnly("b", f.now, ds[2])
}

// A batch leases as single publishes do.
func testHandOffBatch(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	relay := f.createRelay(studyA, f.at(time.Hour))
	ev1, ev2 := f.newEvent(studyA), f.newEvent(studyA)
	handed := leasedTo(f.newDelivery(w, ev1, f.now), "a", f.at(lease))
	due := f.newDelivery(w, ev2, f.now)
	toRelay := leasedTo(f.newDelivery(relay, ev2, f.now), "a", f.at(lease))
	pubs, err := f.publishEvents(
		hookshot.PublishItem{Event: ev1, Deliveries: []*hookshot.Delivery{handed}},
		hookshot.PublishItem{Event: ev2, Deliveries: []*hookshot.Delivery{due, toRelay}})
	if err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if pubs[0].Deliveries[0].LeaseOwner != "a" || pubs[1].Deliveries[1].LeaseOwner != "" {
		t.Fatal("want the first event's delivery leased and the relay's not")
	}
	f.claimOnly("b", f.now, due)
	if jobs := f.claimRelay(relay, f.now, f.at(time.Hour), 10); len(jobs) != 1 {
		t.Fatalf("the relay's CLI claimed %d, want its delivery", len(jobs))
	}
	f.claimOnly("b", f.at(lease-time.Microsecond))
	f.claimOnly("b", f.at(lease), due, handed)
}

// A publish answered under its key inserts nothing, leased or not: the
// first publish's deliveries stay as they were.
func testHandOffReplayed(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	first := f.newDelivery(w, ev, f.now)
	f.publish(ev, []*hookshot.Delivery{first}, f.key("k", "h"))
	again := f.newEvent(studyA)
	pub := f.publish(again, []*hookshot.Delivery{leasedTo(f.newDelivery(w, again, f.now), "a", f.at(lease))}, f.key("k", "h"))
	if !pub.Replayed || len(pub.Deliveries) != 1 || pub.Deliveries[0].ID != first.ID || pub.Deliveries[0].LeaseOwner != "" {
		t.Fatalf("replay answered %+v, want the first delivery, not leased", pub)
	}
	f.claimOnly("b", f.now, first)
}
