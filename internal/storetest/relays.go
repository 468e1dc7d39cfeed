package storetest

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var relayTests = []test{
	{"EngineSkipsRelays", testRelayEngineSkips},
	{"ClaimLeasesTheRelaysDue", testRelayClaim},
	{"ClaimOnlyRelaysOfTheStudy", testRelayClaimNotFound},
	{"JobWhileLeased", testRelayJob},
	{"ExpiryAndSweep", testRelayExpiry},
}

// relays is the store as a hookshot.RelayStore, which both stores are.
func (f *fixture) relays() hookshot.RelayStore {
	f.t.Helper()
	rs, ok := f.store.(hookshot.RelayStore)
	if !ok {
		f.t.Fatalf("%T is not a hookshot.RelayStore", f.store)
	}
	return rs
}

// createRelay creates a relay of study expiring at expires.
func (f *fixture) createRelay(study int64, expires time.Time) *hookshot.Webhook {
	f.t.Helper()
	w := f.newWebhook(study)
	w.Auth = hookshot.Auth{Type: hookshot.AuthHMAC}
	w.URL = "http://localhost:3000/webhooks"
	e := f.newEntry()
	e.Action, e.StudyID, e.Target = hookshot.AuditCreated, study, "webhook "+hookshot.AuditNewID
	if err := f.relays().CreateRelay(f.ctx, w, expires, e); err != nil {
		f.t.Fatalf("CreateRelay: %v", err)
	}
	if w.ID == 0 || e.Target != "webhook "+strconv.FormatInt(w.ID, 10) {
		f.t.Fatalf("CreateRelay set id %d and audit target %q", w.ID, e.Target)
	}
	return w
}

func (f *fixture) claimRelay(w *hookshot.Webhook, now, expires time.Time, limit int) []*hookshot.Job {
	f.t.Helper()
	jobs, err := f.relays().ClaimRelay(f.ctx, w.StudyID, w.ID, expires, hookshot.Claim{Owner: "listen", Now: now, LeaseFor: lease, Limit: limit})
	if err != nil {
		f.t.Fatalf("ClaimRelay(%d): %v", w.ID, err)
	}
	return jobs
}

// ClaimDeliveries, the engine's claim, never hands out a relay's
// deliveries: its CLI sends them.
func testRelayEngineSkips(t *testing.T, f *fixture) {
	ordinary := f.createWebhook(studyA)
	relay := f.createRelay(studyA, f.at(time.Minute))
	d := f.enqueue(ordinary, f.at(-time.Second))
	f.enqueue(relay, f.at(-2*time.Second))
	f.claimOnly("engine", f.now, d)
	if got := f.webhook(studyA, relay.ID); got.URL != relay.URL || !got.Active || got.Validation.Status != hookshot.ValidationPassed {
		t.Fatalf("relay reads back as %+v", got)
	}
}

// ClaimRelay leases the relay's due deliveries, oldest due first, with
// their payloads, until the lease runs out; others' are left alone.
func testRelayClaim(t *testing.T, f *fixture) {
	relay := f.createRelay(studyA, f.at(time.Minute))
	other := f.createRelay(studyA, f.at(time.Minute))
	newer := f.enqueue(relay, f.at(-time.Second))
	older := f.enqueue(relay, f.at(-time.Hour))
	f.enqueue(relay, f.at(time.Hour)) // not due
	f.enqueue(other, f.at(-time.Hour))

	jobs := f.claimRelay(relay, f.now, f.at(time.Minute), 10)
	if len(jobs) != 2 || jobs[0].Delivery.ID != older.ID || jobs[1].Delivery.ID != newer.ID {
		t.Fatalf("ClaimRelay handed out %v, want [%s %s]", jobIDs(jobs), older.ID, newer.ID)
	}
	for _, j := range jobs {
		if !bytes.Equal(j.Payload, uploadPayload) || j.Webhook.ID != relay.ID || !j.Delivery.NextAttemptAt.Equal(f.now.Add(lease)) {
			t.Fatalf("job %s: webhook %d, payload %q, lease end %s", j.Delivery.ID, j.Webhook.ID, j.Payload, j.Delivery.NextAttemptAt)
		}
	}
	if again := f.claimRelay(relay, f.now, f.at(time.Minute), 10); len(again) != 0 {
		t.Fatalf("leased deliveries were claimed again: %v", jobIDs(again))
	}
	// Both leases ran out together, so either may come first.
	if limited := f.claimRelay(relay, f.now.Add(lease), f.at(time.Minute), 1); len(limited) != 1 || (limited[0].Delivery.ID != older.ID && limited[0].Delivery.ID != newer.ID) {
		t.Fatalf("after the lease ClaimRelay with limit 1 handed out %v, want one of [%s %s]", jobIDs(limited), older.ID, newer.ID)
	}
}

// ClaimRelay answers ErrNotFound for a webhook that is not a relay, or
// not of the study.
func testRelayClaimNotFound(t *testing.T, f *fixture) {
	ordinary := f.createWebhook(studyA)
	relay := f.createRelay(studyA, f.at(time.Minute))
	for _, c := range []struct {
		study, id int64
	}{{studyA, ordinary.ID}, {studyB, relay.ID}, {studyA, relay.ID + 1000}} {
		_, err := f.relays().ClaimRelay(f.ctx, c.study, c.id, f.at(time.Minute), hookshot.Claim{Owner: "listen", Now: f.now, LeaseFor: lease, Limit: 1})
		if !errors.Is(err, hookshot.ErrNotFound) {
			t.Errorf("ClaimRelay(study %d, webhook %d) = %v, want ErrNotFound", c.study, c.id, err)
		}
	}
}

// RelayJob finds a claimed delivery only while its owner holds it; once
// its result is recorded, the delivery moves on by RecordResults' rules.
func testRelayJob(t *testing.T, f *fixture) {
	relay := f.createRelay(studyA, f.at(time.Minute))
	d := f.enqueue(relay, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 3 })
	if _, err := f.relays().RelayJob(f.ctx, studyA, relay.ID, d.ID, "listen"); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("RelayJob before the claim = %v, want ErrNotFound", err)
	}
	f.claimRelay(relay, f.now, f.at(time.Minute), 10)
	j, err := f.relays().RelayJob(f.ctx, studyA, relay.ID, d.ID, "listen")
	if err != nil {
		t.Fatalf("RelayJob: %v", err)
	}
	if j.Delivery.ID != d.ID || j.Delivery.Attempts != 0 || j.Webhook.ID != relay.ID || !bytes.Equal(j.Payload, uploadPayload) {
		t.Fatalf("RelayJob = %+v", j)
	}
	for _, c := range []struct {
		study, id int64
		owner     string
	}{{studyA, relay.ID, "engine"}, {studyB, relay.ID, "listen"}} {
		if _, err := f.relays().RelayJob(f.ctx, c.study, c.id, d.ID, c.owner); !errors.Is(err, hookshot.ErrNotFound) {
			t.Errorf("RelayJob(study %d, owner %s) = %v, want ErrNotFound", c.study, c.owner, err)
		}
	}
	f.record("listen", f.result(j, hookshot.DeliveryInProgress, f.at(10*time.Second)))
	got, attempts := f.delivery(relay.ID, d.ID)
	if got.Attempts != 1 || len(attempts) != 1 || !got.NextAttemptAt.Equal(f.at(10*time.Second)) {
		t.Fatalf("after the report the delivery is %+v with %d attempts", got, len(attempts))
	}
	if _, err := f.relays().RelayJob(f.ctx, studyA, relay.ID, d.ID, "listen"); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("RelayJob after the report = %v, want ErrNotFound", err)
	}
	if jobs := f.claimRelay(relay, f.at(10*time.Second), f.at(time.Minute), 10); len(jobs) != 1 || jobs[0].Delivery.Attempts != 1 {
		t.Fatalf("the retry was claimed as %v", jobIDs(jobs))
	}
}

// A relay expires unless claimed: ExpiredRelays lists it once its expiry
// has passed, a claim pushes the expiry on, and DeleteExpiredRelay deletes
// it with its deliveries only while it is expired, once.
func testRelayExpiry(t *testing.T, f *fixture) {
	relay := f.createRelay(studyA, f.at(time.Minute))
	f.createWebhook(studyA)
	d := f.enqueue(relay, f.now)
	expired := func(at time.Time) []hookshot.RelayRef {
		t.Helper()
		refs, err := f.relays().ExpiredRelays(f.ctx, at, 10)
		if err != nil {
			t.Fatalf("ExpiredRelays: %v", err)
		}
		return refs
	}
	ref := hookshot.RelayRef{StudyID: studyA, WebhookID: relay.ID}
	if refs := expired(f.at(59 * time.Second)); len(refs) != 0 {
		t.Fatalf("expired before its time: %v", refs)
	}
	if refs := expired(f.at(time.Minute)); len(refs) != 1 || refs[0] != ref {
		t.Fatalf("ExpiredRelays at the expiry = %v, want [%v]", refs, ref)
	}
	f.claimRelay(relay, f.now, f.at(5*time.Minute), 0)
	if refs := expired(f.at(2 * time.Minute)); len(refs) != 0 {
		t.Fatalf("a claim did not push the expiry on: %v", refs)
	}
	e := f.newEntry()
	e.Action, e.Actor, e.Target = hookshot.AuditDeleted, "system", "webhook "+strconv.FormatInt(relay.ID, 10)
	if err := f.relays().DeleteExpiredRelay(f.ctx, ref, f.at(2*time.Minute), e); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("DeleteExpiredRelay before the expiry = %v, want ErrNotFound", err)
	}
	if err := f.relays().DeleteExpiredRelay(f.ctx, ref, f.at(5*time.Minute), e); err != nil {
		t.Fatalf("DeleteExpiredRelay: %v", err)
	}
	if e.ID == 0 {
		t.Fatal("DeleteExpiredRelay wrote no audit entry")
	}
	if _, err := f.store.Webhook(f.ctx, studyA, relay.ID); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("the expired relay still reads: %v", err)
	}
	f.wantGone(relay.ID, d.ID)
	if err := f.relays().DeleteExpiredRelay(f.ctx, ref, f.at(5*time.Minute), nil); !errors.Is(err, hookshot.ErrNotFound) {
		t.Fatalf("a second DeleteExpiredRelay = %v, want ErrNotFound", err)
	}
	if refs := expired(f.at(time.Hour)); len(refs) != 0 {
		t.Fatalf("deleted relay still listed: %v", refs)
	}
}
