package storetest

import (
	"bytes"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var publishTests = []test{
	{"StoresEventAndDeliveries", testPublish},
	{"PayloadBytes", testPayloadBytes},
	{"NoDeliveries", testPublishNoDeliveries},
	{"Replay", testReplay},
	{"ReplayBoundary", testReplayBoundary},
	{"IdempotencyMismatch", testIdempotencyMismatch},
	{"ExpiredKey", testExpiredKey},
	{"KeysPerStudy", testKeysPerStudy},
	{"ConcurrentSameKey", testConcurrentSameKey},
	{"DeletedWebhook", testPublishDeletedWebhook},
	{"DeletedWebhookLeased", testPublishDeletedWebhookLeased},
	{"DeliveryIDTaken", testPublishDeliveryIDTaken},
}

// key is an idempotency key that has not expired at the test's start.
func (f *fixture) key(name, hash string) *hookshot.IdempotencyKey {
	return &hookshot.IdempotencyKey{Key: name, RequestHash: hash, NotBefore: f.at(-24 * time.Hour)}
}

// PublishEvent inserts ev and its deliveries.
func testPublish(t *testing.T, f *fixture) {
	w1 := f.createWebhook(studyA)
	w2 := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	ds := []*hookshot.Delivery{f.newDelivery(w1, ev, f.now), f.newDelivery(w2, ev, f.now)}
	want := []hookshot.Delivery{*ds[0], *ds[1]}
	pub := f.publish(ev, ds, nil)
	if pub.Replayed {
		t.Error("a first publication says Replayed")
	}
	if pub.Event.ID != ev.ID || !bytes.Equal(pub.Event.Payload, uploadPayload) {
		t.Errorf("Publication.Event = %s %q, want %s with its payload", pub.Event.ID, pub.Event.Payload, ev.ID)
	}
	if got := deliveryIDs(pub.Deliveries); len(got) != 2 || got[0] != want[0].ID || got[1] != want[1].ID {
		t.Errorf("Publication.Deliveries = %v, want %v", got, []string{want[0].ID, want[1].ID})
	}
	for i, w := range []*hookshot.Webhook{w1, w2} {
		d, attempts := f.delivery(w.ID, want[i].ID)
		checkDelivery(t, "published delivery", d, &want[i])
		if len(attempts) != 0 {
			t.Errorf("new delivery has %d attempts", len(attempts))
		}
	}
	// The event itself is visible through the jobs.
	jobs := f.claim("engine", f.now, 10)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(jobs))
	}
	for _, j := range jobs {
		if !bytes.Equal(j.Payload, uploadPayload) {
			t.Errorf("job payload = %q, want the event's payload", j.Payload)
		}
	}
}

// The payload is kept byte for byte, wherever it comes back: in a job, in
// a replayed publication, and as the request body of a stored attempt.
func testPayloadBytes(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	d := f.newDelivery(w, ev, f.now)
	f.publish(ev, []*hookshot.Delivery{d}, f.key("bytes", "h1"))

	again := f.newEvent(studyA)
	again.Payload = []byte(`{"other":true}`)
	pub := f.publish(again, nil, f.key("bytes", "h1"))
	if !pub.Replayed || !bytes.Equal(pub.Event.Payload, uploadPayload) {
		t.Errorf("replayed payload = %q (Replayed %v), want %q", pub.Event.Payload, pub.Replayed, uploadPayload)
	}

	jobs := f.claimOnly("engine", f.now, d)
	if !bytes.Equal(jobs[0].Payload, uploadPayload) {
		t.Errorf("job payload = %q, want %q", jobs[0].Payload, uploadPayload)
	}
	r := f.result(jobs[0], hookshot.DeliverySucceeded, f.now)
	f.record("engine", r)
	_, attempts := f.delivery(w.ID, d.ID)
	if len(attempts) != 1 {
		t.Fatalf("got %d attempts, want 1", len(attempts))
	}
	if !bytes.Equal(attempts[0].Request.Body, uploadPayload) {
		t.Errorf("attempt request body = %q, want %q", attempts[0].Request.Body, uploadPayload)
	}
}

// An event without deliveries is stored all the same: its key answers.
func testPublishNoDeliveries(t *testing.T, f *fixture) {
	ev := f.newEvent(studyA)
	pub := f.publish(ev, nil, f.key("k", "h"))
	if pub.Replayed || len(pub.Deliveries) != 0 {
		t.Errorf("publication = Replayed %v with %d deliveries, want a new one with none", pub.Replayed, len(pub.Deliveries))
	}
	again := f.publish(f.newEvent(studyA), nil, f.key("k", "h"))
	if !again.Replayed || again.Event.ID != ev.ID {
		t.Errorf("second publish = Replayed %v, event %s; want a replay of %s", again.Replayed, again.Event.ID, ev.ID)
	}
}

// With a key, a publication under the same key and study that has not
// expired is answered instead, creating nothing (Publication.Replayed).
func testReplay(t *testing.T, f *fixture) {
	w1 := f.createWebhook(studyA)
	w2 := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	first := []*hookshot.Delivery{f.newDelivery(w1, ev, f.now), f.newDelivery(w2, ev, f.now)}
	f.publish(ev, first, f.key("order-7", "hash-1"))

	later := f.newEvent(studyA)
	later.CreatedAt = f.at(time.Hour)
	later.Payload = rawPayload
	second := []*hookshot.Delivery{f.newDelivery(w1, later, f.now)}
	pub := f.publish(later, second, f.key("order-7", "hash-1"))
	if !pub.Replayed {
		t.Fatal("publish under a live key was not Replayed")
	}
	if pub.Event.ID != ev.ID || pub.Event.StudyID != ev.StudyID || pub.Event.Type != ev.Type ||
		pub.Event.TraceParent != ev.TraceParent || !pub.Event.CreatedAt.Equal(ev.CreatedAt) ||
		!bytes.Equal(pub.Event.Payload, ev.Payload) {
		t.Errorf("replayed event = %+v, want %+v", *pub.Event, *ev)
	}
	got := deliveryIDs(pub.Deliveries)
	want := deliveryIDs(first)
	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("replayed deliveries = %v, want %v", got, want)
	}
	for _, d := range pub.Deliveries {
		if d.EventID != ev.ID || d.Status != hookshot.DeliveryInProgress {
			t.Errorf("replayed delivery %s: EventID %s, Status %s", d.ID, d.EventID, d.Status)
		}
	}
	// Nothing of the second publication exists.
	f.wantGone(w1.ID, second[0].ID)
	if list := f.list(hookshot.DeliveryFilter{WebhookID: w1.ID}); len(list) != 1 {
		t.Errorf("webhook has %d deliveries after a replay, want 1", len(list))
	}
}

// A key created exactly at NotBefore has not expired: only keys created
// before it have.
func testReplayBoundary(t *testing.T, f *fixture) {
	ev := f.newEvent(studyA)
	f.publish(ev, nil, f.key("k", "h"))
	key := f.key("k", "h")
	key.NotBefore = ev.CreatedAt
	pub := f.publish(f.newEvent(studyA), nil, key)
	if !pub.Replayed || pub.Event.ID != ev.ID {
		t.Errorf("publish with NotBefore = the key's creation: Replayed %v, event %s; want a replay of %s",
			pub.Replayed, pub.Event.ID, ev.ID)
	}
}

// A key reused with another RequestHash is ErrIdempotencyMismatch, and
// creates nothing.
func testIdempotencyMismatch(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	f.publish(ev, []*hookshot.Delivery{f.newDelivery(w, ev, f.now)}, f.key("k", "hash-1"))

	other := f.newEvent(studyA)
	d := f.newDelivery(w, other, f.now)
	pub, err := f.store.PublishEvent(f.ctx, other, []*hookshot.Delivery{d}, f.key("k", "hash-2"))
	wantErr(t, "PublishEvent with another RequestHash", err, hookshot.ErrIdempotencyMismatch)
	if pub != nil {
		t.Errorf("PublishEvent returned %+v with its error", pub)
	}
	f.wantGone(w.ID, d.ID)

	// The key still answers its own request.
	again := f.publish(f.newEvent(studyA), nil, f.key("k", "hash-1"))
	if !again.Replayed || again.Event.ID != ev.ID {
		t.Errorf("after a mismatch the key answers %s (Replayed %v), want %s", again.Event.ID, again.Replayed, ev.ID)
	}
}

// A stored key created before NotBefore has expired and is replaced, even
// for another request; the replacement then answers in its turn.
func testExpiredKey(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	f.publish(ev, []*hookshot.Delivery{f.newDelivery(w, ev, f.now)}, f.key("k", "hash-1"))

	next := f.newEvent(studyA)
	next.CreatedAt = f.at(25 * time.Hour)
	d := f.newDelivery(w, next, next.CreatedAt)
	expired := &hookshot.IdempotencyKey{Key: "k", RequestHash: "hash-2", NotBefore: f.at(time.Microsecond)}
	pub := f.publish(next, []*hookshot.Delivery{d}, expired)
	if pub.Replayed || pub.Event.ID != next.ID {
		t.Fatalf("publish under an expired key: Replayed %v, event %s; want the new event %s", pub.Replayed, pub.Event.ID, next.ID)
	}
	f.delivery(w.ID, d.ID)

	third := &hookshot.IdempotencyKey{Key: "k", RequestHash: "hash-2", NotBefore: f.at(time.Hour)}
	again := f.publish(f.newEvent(studyA), nil, third)
	if !again.Replayed || again.Event.ID != next.ID {
		t.Errorf("the replacing key answers %s (Replayed %v), want %s", again.Event.ID, again.Replayed, next.ID)
	}
	_, err := f.store.PublishEvent(f.ctx, f.newEvent(studyA), nil, &hookshot.IdempotencyKey{Key: "k", RequestHash: "hash-1", NotBefore: f.at(time.Hour)})
	wantErr(t, "the replaced request's hash", err, hookshot.ErrIdempotencyMismatch)
}

// Keys are per study: the same key in another study is another key.
func testKeysPerStudy(t *testing.T, f *fixture) {
	a := f.newEvent(studyA)
	f.publish(a, nil, f.key("shared", "hash-a"))
	b := f.newEvent(studyB)
	pub := f.publish(b, nil, f.key("shared", "hash-b"))
	if pub.Replayed || pub.Event.ID != b.ID {
		t.Errorf("same key in another study: Replayed %v, event %s; want the new event %s", pub.Replayed, pub.Event.ID, b.ID)
	}
	again := f.publish(f.newEvent(studyA), nil, f.key("shared", "hash-a"))
	if !again.Replayed || again.Event.ID != a.ID {
		t.Errorf("study A's key answers %s (Replayed %v), want %s", again.Event.ID, again.Replayed, a.ID)
	}
}

// Publishes racing under one key: one stores its event, the others
// answer it.
func testConcurrentSameKey(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pubs []*hookshot.Publication
		errs []error
	)
	for range n {
		ev := f.newEvent(studyA)
		ds := []*hookshot.Delivery{f.newDelivery(w, ev, f.now)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, err := f.store.PublishEvent(f.ctx, ev, ds, f.key("race", "hash"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			pubs = append(pubs, pub)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("PublishEvent: %v", err)
	}
	fresh := 0
	for _, p := range pubs {
		if !p.Replayed {
			fresh++
		}
		if p.Event.ID != pubs[0].Event.ID {
			t.Errorf("racing publishes answered events %s and %s", p.Event.ID, pubs[0].Event.ID)
		}
	}
	if fresh != 1 {
		t.Errorf("%d of %d racing publishes stored their event, want 1", fresh, n)
	}
	if list := f.list(hookshot.DeliveryFilter{WebhookID: w.ID}); len(list) != 1 {
		t.Errorf("racing publishes left %d deliveries, want 1", len(list))
	}
}

// A delivery for a webhook deleted between the service's read and the
// publish is dropped from the publication instead of failing it; the
// event and its other deliveries are stored.
func testPublishDeletedWebhook(t *testing.T, f *fixture) {
	gone := f.createWebhook(studyA)
	kept := f.createWebhook(studyA)
	if err := f.store.DeleteWebhook(f.ctx, studyA, gone.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	ev := f.newEvent(studyA)
	dGone, dKept := f.newDelivery(gone, ev, f.now), f.newDelivery(kept, ev, f.now)
	pub := f.publish(ev, []*hookshot.Delivery{dGone, dKept}, nil)
	if got := deliveryIDs(pub.Deliveries); len(got) != 1 || got[0] != dKept.ID {
		t.Errorf("Publication.Deliveries = %v, want only %s", got, dKept.ID)
	}
	f.delivery(kept.ID, dKept.ID)
	f.wantGone(gone.ID, dGone.ID)
}

// The same holds for a delivery the publish hands to its engine.
func testPublishDeletedWebhookLeased(t *testing.T, f *fixture) {
	gone := f.createWebhook(studyA)
	kept := f.createWebhook(studyA)
	if err := f.store.DeleteWebhook(f.ctx, studyA, gone.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	ev := f.newEvent(studyA)
	dGone := leasedTo(f.newDelivery(gone, ev, f.now), "a", f.at(lease))
	dKept := leasedTo(f.newDelivery(kept, ev, f.now), "a", f.at(lease))
	pub := f.publish(ev, []*hookshot.Delivery{dGone, dKept}, nil)
	if len(pub.Deliveries) != 1 || pub.Deliveries[0].ID != dKept.ID || pub.Deliveries[0].LeaseOwner != "a" {
		t.Errorf("Publication.Deliveries = %v, want only %s, leased to a", deliveryIDs(pub.Deliveries), dKept.ID)
	}
	f.wantGone(gone.ID, dGone.ID)
}

// A delivery whose id is taken is no webhook gone: the publish fails,
// leased or not, and stores nothing of the event.
func testPublishDeliveryIDTaken(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev0 := f.newEvent(studyA)
	first := f.newDelivery(w, ev0, f.now)
	f.publish(ev0, []*hookshot.Delivery{first}, nil)
	for _, leased := range []bool{false, true} {
		ev := f.newEvent(studyA)
		d := f.newDelivery(w, ev, f.now)
		d.ID = first.ID
		if leased {
			leasedTo(d, "a", f.at(lease))
		}
		if pub, err := f.store.PublishEvent(f.ctx, ev, []*hookshot.Delivery{d}, nil); err == nil {
			t.Errorf("leased %v: PublishEvent with a taken delivery id answered %v, want an error", leased, deliveryIDs(pub.Deliveries))
		}
		if _, err := f.store.Event(f.ctx, studyA, ev.ID); !errors.Is(err, hookshot.ErrNotFound) {
			t.Errorf("leased %v: Event of the failed publish: %v, want ErrNotFound", leased, err)
		}
	}
}
