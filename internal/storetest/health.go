package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var healthTests = []test{
	{"KeptByRecording", testHealthKeptByRecording},
	{"OneBatchOfWebhooks", testHealthBatchOfWebhooks},
	{"Last24hCountsRecentHours", testHealthLast24h},
	{"ValidationDoesNotCount", testHealthIgnoresValidation},
	{"DisabledOnGone", testDisabledOnGone},
	{"DisabledAfterFailing", testDisabledAfterFailing},
	{"HeldWhileDisabled", testHeldWhileDisabled},
	{"EnablingClearsReason", testEnablingClearsReason},
	{"BacklogLeavesOutHeld", testBacklogLeavesOutHeld},
}

// attemptAt records the next attempt of d at t with status, due again
// at t+1s, and edits the result first.
func (f *fixture) attemptAt(d *hookshot.Delivery, t time.Time, status hookshot.DeliveryStatus, edits ...func(*hookshot.Result)) *hookshot.Result {
	f.t.Helper()
	j := f.claimOne(d)
	r := f.result(j, status, t.Add(time.Second))
	r.Event = d.Event
	r.Attempt.StartedAt = t
	for _, e := range edits {
		e(r)
	}
	f.record("engine", r)
	return r
}

// claimOne claims d, whenever it is due, and hands back any other
// delivery the claim took.
func (f *fixture) claimOne(d *hookshot.Delivery) *hookshot.Job {
	f.t.Helper()
	var mine *hookshot.Job
	var others []string
	for _, j := range f.claim("engine", f.at(48*time.Hour), 100) {
		if j.Delivery.ID == d.ID {
			mine = j
		} else {
			others = append(others, j.Delivery.ID)
		}
	}
	if err := f.store.ReleaseDeliveries(f.ctx, "engine", others); err != nil {
		f.t.Fatal(err)
	}
	if mine == nil {
		f.t.Fatalf("delivery %s was not claimed", d.ID)
	}
	return mine
}

func timeIs(got *time.Time, want time.Time) bool { return got != nil && got.Equal(want) }

// Recording attempts keeps the webhook's health: the last success and
// failure, and the run of failures since the last success.
func testHealthKeptByRecording(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	if h := f.webhook(studyA, w.ID).Health; h != (hookshot.Health{}) {
		t.Fatalf("health of a new webhook: %+v, want none", h)
	}
	d := f.enqueue(w, f.now)
	t1, t2, t3 := f.at(time.Second), f.at(2*time.Second), f.at(3*time.Second)
	f.attemptAt(d, t1, hookshot.DeliveryInProgress)
	f.attemptAt(d, t2, hookshot.DeliveryInProgress)
	h := f.webhook(studyA, w.ID).Health
	if h.LastSuccessAt != nil || !timeIs(h.LastFailureAt, t2) || !timeIs(h.FailingSince, t1) || h.ConsecutiveFailures != 2 {
		t.Errorf("after two failures: %+v; want last failure %s, failing since %s, 2 in a row", h, t2, t1)
	}
	if h.Last24h != (hookshot.AttemptCounts{Attempts: 2, Failures: 2}) {
		t.Errorf("last 24h after two failures: %+v", h.Last24h)
	}
	f.attemptAt(d, t3, hookshot.DeliverySucceeded)
	h = f.webhook(studyA, w.ID).Health
	if !timeIs(h.LastSuccessAt, t3) || !timeIs(h.LastFailureAt, t2) || h.FailingSince != nil || h.ConsecutiveFailures != 0 {
		t.Errorf("after a success: %+v; want last success %s, no failing since, 0 in a row", h, t3)
	}
	if h.Last24h != (hookshot.AttemptCounts{Attempts: 3, Failures: 2}) {
		t.Errorf("last 24h after a success: %+v", h.Last24h)
	}
	// The list reads health too.
	ws, err := f.store.Webhooks(f.ctx, studyA)
	if err != nil || len(ws) != 1 || ws[0].Health.Last24h.Attempts != 3 || !timeIs(ws[0].Health.LastSuccessAt, t3) {
		t.Errorf("Webhooks: %v, %v; want the webhook with its health", ws, err)
	}

	// In one batch, the order of the results decides: a failure after a
	// success starts a new run.
	d1, d2 := f.enqueue(w, f.now), f.enqueue(w, f.now)
	jobs := f.claimOnly("engine", f.at(48*time.Hour), d1, d2)
	ok, bad := f.result(jobs[0], hookshot.DeliverySucceeded, f.now), f.result(jobs[1], hookshot.DeliveryInProgress, f.now)
	ok.Attempt.StartedAt, bad.Attempt.StartedAt = f.at(4*time.Second), f.at(5*time.Second)
	f.record("engine", ok, bad)
	h = f.webhook(studyA, w.ID).Health
	if !timeIs(h.LastSuccessAt, f.at(4*time.Second)) || !timeIs(h.FailingSince, f.at(5*time.Second)) || h.ConsecutiveFailures != 1 {
		t.Errorf("after a batch of a success and a failure: %+v", h)
	}
}

// One batch of results for several webhooks (forty, past any chunking an
// engine may do), over two clock hours, keeps each webhook's health as
// batches of their own would; a webhook deleted before its results are
// recorded is passed over.
func testHealthBatchOfWebhooks(t *testing.T, f *fixture) {
	a, b, gone := f.createWebhook(studyA), f.createWebhook(studyA), f.createWebhook(studyA)
	a1, a2, b1, g1 := f.enqueue(a, f.now), f.enqueue(a, f.now), f.enqueue(b, f.now), f.enqueue(gone, f.now)
	more := map[int64]*hookshot.Delivery{}
	want := []*hookshot.Delivery{a1, a2, b1, g1}
	for range 37 {
		w := f.createWebhook(studyA)
		more[w.ID] = f.enqueue(w, f.now)
		want = append(want, more[w.ID])
	}
	jobs := map[string]*hookshot.Job{}
	for _, j := range f.claimOnly("engine", f.at(48*time.Hour), want...) {
		jobs[j.Delivery.ID] = j
	}
	hour := f.now.Truncate(time.Hour)
	early, late := hour.Add(-30*time.Minute), hour.Add(10*time.Minute)
	result := func(d *hookshot.Delivery, status hookshot.DeliveryStatus, at time.Time) *hookshot.Result {
		r := f.result(jobs[d.ID], status, f.at(time.Hour))
		r.Attempt.StartedAt = at
		return r
	}
	results := []*hookshot.Result{result(a1, hookshot.DeliveryInProgress, early), result(g1, hookshot.DeliveryInProgress, late),
		result(b1, hookshot.DeliveryInProgress, late), result(a2, hookshot.DeliverySucceeded, late)}
	for _, d := range more {
		results = append(results, result(d, hookshot.DeliveryInProgress, early))
	}
	if err := f.store.DeleteWebhook(f.ctx, studyA, gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.record("engine", results...)
	ha, hb := f.webhook(studyA, a.ID).Health, f.webhook(studyA, b.ID).Health
	if !timeIs(ha.LastSuccessAt, late) || !timeIs(ha.LastFailureAt, early) || ha.FailingSince != nil || ha.ConsecutiveFailures != 0 ||
		ha.Last24h != (hookshot.AttemptCounts{Attempts: 2, Failures: 1}) {
		t.Errorf("health of the webhook that failed at %s and succeeded at %s: %+v", early, late, ha)
	}
	if hb.LastSuccessAt != nil || !timeIs(hb.LastFailureAt, late) || !timeIs(hb.FailingSince, late) || hb.ConsecutiveFailures != 1 ||
		hb.Last24h != (hookshot.AttemptCounts{Attempts: 1, Failures: 1}) {
		t.Errorf("health of the webhook that failed at %s: %+v", late, hb)
	}
	for id := range more {
		if h := f.webhook(studyA, id).Health; !timeIs(h.FailingSince, early) || h.ConsecutiveFailures != 1 ||
			h.Last24h != (hookshot.AttemptCounts{Attempts: 1, Failures: 1}) {
			t.Errorf("health of webhook %d, which failed at %s: %+v", id, early, h)
		}
	}
}

// last_24h counts the current hour and the 23 before it; older hours are
// left out (and forgotten).
func testHealthLast24h(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	f.attemptAt(d, f.at(-30*time.Hour), hookshot.DeliveryInProgress)
	f.attemptAt(d, f.at(-25*time.Hour), hookshot.DeliveryInProgress)
	f.attemptAt(d, f.now, hookshot.DeliveryInProgress)
	h := f.webhook(studyA, w.ID).Health
	if h.Last24h != (hookshot.AttemptCounts{Attempts: 1, Failures: 1}) || h.ConsecutiveFailures != 3 {
		t.Errorf("health %+v; want 1 of 3 failed attempts in the last 24h", h)
	}
}

// Validation attempts do not count toward health.
func testHealthIgnoresValidation(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	v := f.newValidation(w)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	if err := f.store.UpdateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatal(err)
	}
	f.attemptAt(v, f.now, hookshot.DeliveryFailed, func(r *hookshot.Result) { r.Gone, r.DisableAfter = true, time.Nanosecond })
	got := f.webhook(studyA, w.ID)
	if got.Health != (hookshot.Health{}) || !got.Active {
		t.Errorf("after a failed validation: active %v, health %+v; want active, no health", got.Active, got.Health)
	}
}

// A Gone result disables the webhook in the recording's transaction,
// with the reason, an audit entry by the system, and Disabled set.
func testDisabledOnGone(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	at := f.at(time.Second)
	r := f.attemptAt(d, at, hookshot.DeliveryFailed, func(r *hookshot.Result) { r.Gone = true })
	got := f.webhook(studyA, w.ID)
	if got.Active || got.DisabledReason == nil || *got.DisabledReason != (hookshot.DisabledReason{Code: hookshot.DisabledGone, Since: at}) {
		t.Fatalf("after 410: active %v, reason %+v; want disabled, gone since %s", got.Active, got.DisabledReason, at)
	}
	if r.Disabled == nil || *r.Disabled != (hookshot.DisabledWebhook{WebhookID: w.ID, StudyID: studyA, Reason: *got.DisabledReason}) {
		t.Errorf("Result.Disabled %+v", r.Disabled)
	}
	trail := f.trail()
	if len(trail) != 1 || trail[0].Actor != hookshot.AuditActorSystem || trail[0].Action != hookshot.AuditDisabled ||
		trail[0].StudyID != studyA || !strings.HasPrefix(trail[0].Detail, "gone") {
		t.Errorf("audit trail %+v; want one entry: disabled by system, gone", trail)
	}
	// Already disabled: nothing more.
	d2 := f.enqueue(w, f.now)
	if err := f.store.UpdateWebhook(f.ctx, activated(got), nil, nil); err != nil {
		t.Fatal(err)
	}
	r = f.attemptAt(d2, f.at(2*time.Second), hookshot.DeliveryFailed)
	if r.Disabled != nil || !f.webhook(studyA, w.ID).Active {
		t.Errorf("a failure that is not Gone disabled the webhook: %+v", r.Disabled)
	}
}

func activated(w *hookshot.Webhook) *hookshot.Webhook {
	c := *w
	c.Active = true
	c.UpdatedAt = time.Time{}
	return &c
}

// DisableAfter disables a webhook once every attempt has failed for that
// long, with at least MinFailuresToDisable of them, and not before.
func testDisabledAfterFailing(t *testing.T, f *fixture) {
	const after = time.Hour
	cases := []struct {
		name     string
		times    []time.Duration
		disabled bool
	}{
		{"five failures over an hour", []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute, time.Hour}, true},
		{"four failures over two hours", []time.Duration{0, 40 * time.Minute, 80 * time.Minute, 2 * time.Hour}, false},
		{"six failures within the hour", []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 59 * time.Minute}, false},
	}
	for _, c := range cases {
		w := f.createWebhook(studyA)
		d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 20 })
		var last *hookshot.Result
		for _, off := range c.times {
			last = f.attemptAt(d, f.at(off), hookshot.DeliveryInProgress, func(r *hookshot.Result) { r.DisableAfter = after })
		}
		got := f.webhook(studyA, w.ID)
		if got.Active == c.disabled {
			t.Errorf("%s: active %v", c.name, got.Active)
		}
		if !c.disabled {
			continue
		}
		want := hookshot.DisabledReason{Code: hookshot.DisabledFailing, Since: f.at(c.times[len(c.times)-1])}
		if got.DisabledReason == nil || *got.DisabledReason != want || last.Disabled == nil || last.Disabled.Reason != want {
			t.Errorf("%s: reason %+v, Result.Disabled %+v; want %+v", c.name, got.DisabledReason, last.Disabled, want)
		}
	}
}

// The claim holds back a disabled webhook's deliveries, but for its
// validation requests, and they come back in their place once enabled.
func testHeldWhileDisabled(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	first := f.enqueue(w, f.at(-2*time.Second))
	second := f.enqueue(w, f.at(-time.Second))
	theirs := f.enqueue(other, f.now)
	w.Active = false
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	v := f.newValidation(w)
	if err := f.store.UpdateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatal(err)
	}
	jobs := f.claimOnly("engine", f.at(time.Minute), theirs, v)
	for _, j := range jobs {
		f.record("engine", f.result(j, hookshot.DeliverySucceeded, f.now))
	}
	w.Active = true
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	jobs = f.claim("engine", f.at(time.Minute), 10)
	if ids := jobIDs(jobs); len(ids) != 2 || ids[0] != first.ID || ids[1] != second.ID {
		t.Errorf("after enabling claimed %v, want %v in due order", ids, []string{first.ID, second.ID})
	}
}

// Enabling clears the service's reason and starts the run of failures
// afresh; disabling by hand gives no reason.
func testEnablingClearsReason(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	f.attemptAt(d, f.now, hookshot.DeliveryFailed, func(r *hookshot.Result) { r.Gone = true })
	w = f.webhook(studyA, w.ID)
	w.Active = true
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := f.webhook(studyA, w.ID)
	if got.DisabledReason != nil || w.DisabledReason != nil || got.Health.FailingSince != nil || got.Health.ConsecutiveFailures != 0 {
		t.Errorf("after enabling: reason %+v (caller's %+v), health %+v; want no reason, no run of failures", got.DisabledReason, w.DisabledReason, got.Health)
	}
	if !timeIs(got.Health.LastFailureAt, f.now) || got.Health.Last24h.Failures != 1 {
		t.Errorf("enabling forgot the last failure: %+v", got.Health)
	}
	w.Active = false
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.webhook(studyA, w.ID); got.Active || got.DisabledReason != nil {
		t.Errorf("disabled by hand: active %v, reason %+v; want disabled with no reason", got.Active, got.DisabledReason)
	}
}

// The backlog leaves the deliveries held for a disabled webhook out of
// the due ones (they stay in progress), but not its validation requests.
func testBacklogLeavesOutHeld(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	f.enqueue(w, f.at(-time.Minute))
	w.Active = false
	if err := f.store.UpdateWebhook(f.ctx, w, f.newValidation(w), nil); err != nil {
		t.Fatal(err)
	}
	b := f.backlog(f.at(time.Second))
	if b.InProgress != 2 || b.Due != 1 || !b.OldestDue.Equal(f.now) {
		t.Errorf("backlog %+v; want 2 in progress, 1 due (the validation request, due now)", b)
	}
}
