package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/hookshot/hookshot"
)

var integratorTests = []test{
	{"TestEventJobs", testTestEventJobs},
	{"BatchStoresAllInOrder", testBatchStoresAll},
	{"BatchReplaysPerEvent", testBatchReplays},
	{"BatchMismatchStoresNothing", testBatchMismatch},
	{"BatchAudit", testBatchAudit},
	{"TokenRoles", testTokenRoles},
}

// A test event's deliveries come out of the queue marked as a test; an
// ordinary event's do not.
func testTestEventJobs(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	test := f.newEvent(studyA)
	test.Test = true
	td := f.newDelivery(w, test, f.now)
	f.publish(test, []*hookshot.Delivery{td}, nil)
	plain := f.enqueue(w, f.now)
	jobs := f.claimOnly("engine", f.now, td, plain)
	for _, j := range jobs {
		if want := j.Delivery.ID == td.ID; j.Test != want {
			t.Errorf("job of delivery %s: Test = %v, want %v", j.Delivery.ID, j.Test, want)
		}
	}
}

func (f *fixture) publishEvents(items ...hookshot.PublishItem) ([]*hookshot.Publication, error) {
	return f.store.PublishEvents(f.ctx, items)
}

// PublishEvents stores every event with its deliveries, and answers the
// publications in the items' order, payloads byte for byte.
func testBatchStoresAll(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	var items []hookshot.PublishItem
	var want []*hookshot.Delivery
	for i := 0; i < 3; i++ {
		ev := f.newEvent(studyA)
		ev.Payload = append(bytes.Clone(uploadPayload), bytes.Repeat([]byte(" "), i)...)
		d := f.newDelivery(w, ev, f.now)
		want = append(want, d)
		items = append(items, hookshot.PublishItem{Event: ev, Deliveries: []*hookshot.Delivery{d}})
	}
	pubs, err := f.publishEvents(items...)
	if err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if len(pubs) != 3 {
		t.Fatalf("got %d publications, want 3", len(pubs))
	}
	for i, pub := range pubs {
		if pub.Event.ID != items[i].Event.ID || pub.Replayed || len(pub.Deliveries) != 1 || pub.Deliveries[0].ID != want[i].ID {
			t.Errorf("publication %d = %+v, want event %s with delivery %s", i, pub, items[i].Event.ID, want[i].ID)
		}
	}
	for _, j := range f.claimOnly("engine", f.now, want...) {
		for i, d := range want {
			if d.ID == j.Delivery.ID && !bytes.Equal(j.Payload, items[i].Event.Payload) {
				t.Errorf("job %d payload = %q, want %q", i, j.Payload, items[i].Event.Payload)
			}
		}
	}
}

// Each event of a batch follows the idempotency rules of PublishEvent: a
// key stored earlier answers its event, and a key used twice in one batch
// for the same request answers the first.
func testBatchReplays(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	first := f.newEvent(studyA)
	f.publish(first, []*hookshot.Delivery{f.newDelivery(w, first, f.now)}, f.key("k1", "h1"))

	again := f.newEvent(studyA)
	fresh := f.newEvent(studyA)
	twice := f.newEvent(studyA)
	pubs, err := f.publishEvents(
		hookshot.PublishItem{Event: again, Deliveries: []*hookshot.Delivery{f.newDelivery(w, again, f.now)}, Key: f.key("k1", "h1")},
		hookshot.PublishItem{Event: fresh, Deliveries: []*hookshot.Delivery{f.newDelivery(w, fresh, f.now)}, Key: f.key("k2", "h2")},
		hookshot.PublishItem{Event: twice, Deliveries: []*hookshot.Delivery{f.newDelivery(w, twice, f.now)}, Key: f.key("k2", "h2")},
	)
	if err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if !pubs[0].Replayed || pubs[0].Event.ID != first.ID {
		t.Errorf("event 0 = %s (Replayed %v), want a replay of %s", pubs[0].Event.ID, pubs[0].Replayed, first.ID)
	}
	if pubs[1].Replayed || pubs[1].Event.ID != fresh.ID {
		t.Errorf("event 1 = %s (Replayed %v), want the new event %s", pubs[1].Event.ID, pubs[1].Replayed, fresh.ID)
	}
	if !pubs[2].Replayed || pubs[2].Event.ID != fresh.ID || len(pubs[2].Deliveries) != 1 || pubs[2].Deliveries[0].ID != pubs[1].Deliveries[0].ID {
		t.Errorf("event 2 = %s (Replayed %v), want a replay of %s with its delivery", pubs[2].Event.ID, pubs[2].Replayed, fresh.ID)
	}
	if n := len(f.claim("engine", f.now, 100)); n != 2 {
		t.Errorf("%d deliveries are queued, want 2: the first publish's and the fresh event's", n)
	}
}

// A key reused for another request fails the whole batch, naming the
// item, and nothing of the batch is stored.
func testBatchMismatch(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	first := f.newEvent(studyA)
	f.publish(first, nil, f.key("k1", "h1"))

	ok := f.newEvent(studyA)
	bad := f.newEvent(studyA)
	_, err := f.publishEvents(
		hookshot.PublishItem{Event: ok, Deliveries: []*hookshot.Delivery{f.newDelivery(w, ok, f.now)}, Key: f.key("k2", "h2")},
		hookshot.PublishItem{Event: bad, Deliveries: []*hookshot.Delivery{f.newDelivery(w, bad, f.now)}, Key: f.key("k1", "other")},
	)
	var itemErr *hookshot.BatchItemError
	if !errors.Is(err, hookshot.ErrIdempotencyMismatch) || !errors.As(err, &itemErr) || itemErr.Index != 1 {
		t.Fatalf("PublishEvents = %v, want a BatchItemError for item 1 wrapping ErrIdempotencyMismatch", err)
	}
	if jobs := f.claim("engine", f.now, 100); len(jobs) != 0 {
		t.Errorf("%d deliveries were stored by a failed batch", len(jobs))
	}
	// The first item's key was not kept either: it publishes anew.
	again := f.newEvent(studyA)
	if pub := f.publish(again, nil, f.key("k2", "h2")); pub.Replayed {
		t.Error("the key of a failed batch's event answered a later publish")
	}
}

// An item's audit entry is written with it, and only when the item made
// something: not for a replay.
func testBatchAudit(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ev := f.newEvent(studyA)
	e := &hookshot.AuditEntry{At: f.now, Actor: "tester", Action: hookshot.AuditTested, StudyID: studyA, Target: "webhook 1", Detail: "test event upload"}
	if _, err := f.publishEvents(hookshot.PublishItem{Event: ev, Deliveries: []*hookshot.Delivery{f.newDelivery(w, ev, f.now)}, Key: f.key("a1", "h"), Audit: e}); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	if e.ID == 0 {
		t.Error("the entry did not get its ID")
	}
	again := f.newEvent(studyA)
	replayEntry := &hookshot.AuditEntry{At: f.now, Actor: "tester", Action: hookshot.AuditTested, StudyID: studyA, Target: "webhook 1", Detail: "replayed"}
	if _, err := f.publishEvents(hookshot.PublishItem{Event: again, Deliveries: []*hookshot.Delivery{f.newDelivery(w, again, f.now)}, Key: f.key("a1", "h"), Audit: replayEntry}); err != nil {
		t.Fatalf("PublishEvents again: %v", err)
	}
	trail := f.trail()
	if len(trail) != 1 || trail[0].ID != e.ID || trail[0].Detail != "test event upload" {
		t.Errorf("audit trail = %+v, want the first item's entry only", trail)
	}
}

// A token's roles come back as they were stored, wherever the token does;
// a token without them comes back without them.
func testTokenRoles(t *testing.T, f *fixture) {
	a := f.createAccount("narrow@example.org")
	roles := &hookshot.TokenRoles{Manage: []int64{studyA}, Publish: []int64{studyB}}
	narrow := &hookshot.Token{AccountID: a.ID, Name: "narrow", CreatedAt: f.now, Roles: roles}
	if err := f.accounts().CreateToken(f.ctx, narrow, hashOf("narrow-secret"), nil); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	f.createToken(a.ID, "whole", "whole-secret")
	check := func(where string, got *hookshot.Token, want *hookshot.TokenRoles) {
		t.Helper()
		if !reflect.DeepEqual(got.Roles, want) {
			t.Errorf("%s: token %q has roles %+v, want %+v", where, got.Name, got.Roles, want)
		}
	}
	tok, _, err := f.accounts().TokenByHash(f.ctx, hashOf("narrow-secret"))
	if err != nil {
		t.Fatal(err)
	}
	check("TokenByHash", tok, roles)
	tok, _, err = f.accounts().TokenByHash(f.ctx, hashOf("whole-secret"))
	if err != nil {
		t.Fatal(err)
	}
	check("TokenByHash", tok, nil)
	list, err := f.accounts().Tokens(f.ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("Tokens = %d tokens, %v", len(list), err)
	}
	check("Tokens", list[0], roles)
	check("Tokens", list[1], nil)
	revoked, err := f.accounts().RevokeToken(f.ctx, a.ID, narrow.ID, f.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("RevokeToken", revoked, roles)
}
