package storetest

import (
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var deliveryTests = []test{
	{"WithAttempts", testDeliveryWithAttempts},
	{"ValidationAttempt", testValidationAttempt},
	{"RequestBodyAsSent", testRequestBodyAsSent},
	{"NotFound", testDeliveryNotFound},
}

var listTests = []test{
	{"NewestFirst", testListNewestFirst},
	{"Filters", testListFilters},
	{"Limit", testListLimit},
	{"Pages", testListPages},
	{"FindAndWindow", testListFindAndWindow},
}

var resendTests = []test{
	{"Finished", testResendFinished},
	{"InProgress", testResendInProgress},
	{"NotFound", testResendNotFound},
}

// Delivery returns a delivery with its attempts, oldest first, each
// stored whole: headers, bodies, a missing response, the error.
func testDeliveryWithAttempts(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 3 })

	// 1: no response at all.
	j := f.claimOnly("engine", f.now, d)[0]
	r1 := f.result(j, hookshot.DeliveryInProgress, f.at(10*time.Second))
	r1.Attempt.Response = nil
	r1.Attempt.Duration = 15 * time.Second
	r1.Attempt.Error = "Post \"https://receiver.example/hooks?n=1\": dial tcp 192.0.2.1:443: i/o timeout"
	f.record("engine", r1)

	// 2: an error answer with headers and a body.
	j = f.claimOnly("engine", f.at(10*time.Second), d)[0]
	r2 := f.result(j, hookshot.DeliveryInProgress, f.at(70*time.Second))
	r2.Attempt.Response = &hookshot.AttemptResponse{
		Status:  503,
		Headers: http.Header{"Retry-After": {"120"}, "Content-Type": {"application/problem+json"}},
		Body:    []byte(`{"title":"Service Unavailable"}` + "\n"),
	}
	r2.Attempt.Error = "receiver answered 503 Service Unavailable"
	f.record("engine", r2)

	// 3: success with an empty body and no response headers.
	j = f.claimOnly("engine", f.at(70*time.Second), d)[0]
	r3 := f.result(j, hookshot.DeliverySucceeded, f.at(70*time.Second))
	r3.Attempt.Response = &hookshot.AttemptResponse{Status: 204}
	f.record("engine", r3)

	got, attempts := f.delivery(w.ID, d.ID)
	want := *d
	want.Status, want.Attempts = hookshot.DeliverySucceeded, 3
	checkDelivery(t, "Delivery", got, &want, skipNextAttemptAt, skipUpdatedAt)
	if len(attempts) != 3 {
		t.Fatalf("got %d attempts, want 3", len(attempts))
	}
	for i, r := range []*hookshot.Result{r1, r2, r3} {
		checkAttempt(t, fmt.Sprintf("attempt %d", i+1), attempts[i], r.Attempt)
	}
}

// A validation delivery's attempt keeps its own request body.
func testValidationAttempt(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	v := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	j := f.claimOnly("engine", f.now, v)[0]
	r := f.result(j, hookshot.DeliveryFailed, f.now)
	r.Attempt.Request.Body = []byte(fmt.Sprintf(`{"WebhookId":"%d","ValidationCode":"%s"}`, w.ID, v.ValidationCode))
	f.record("engine", r)
	_, attempts := f.delivery(w.ID, v.ID)
	if len(attempts) != 1 {
		t.Fatalf("got %d attempts, want 1", len(attempts))
	}
	checkAttempt(t, "validation attempt", attempts[0], r.Attempt)
}

// An event delivery's attempt reads back with the body it was recorded
// with, even when that is not the event's payload: however a store saves
// space on payloads, it must not show a body that was not sent.
func testRequestBodyAsSent(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 2 })
	j := f.claimOnly("engine", f.now, d)[0]
	r1 := f.result(j, hookshot.DeliveryInProgress, f.now)
	r1.Attempt.Request.Body = nil
	f.record("engine", r1)
	j = f.claimOnly("engine", f.now, d)[0]
	r2 := f.result(j, hookshot.DeliveryFailed, f.now)
	r2.Attempt.Request.Body = []byte(`{"truncated":`)
	f.record("engine", r2)

	_, attempts := f.delivery(w.ID, d.ID)
	if len(attempts) != 2 {
		t.Fatalf("got %d attempts, want 2", len(attempts))
	}
	if len(attempts[0].Request.Body) != 0 {
		t.Errorf("attempt without a body reads back with body %q", attempts[0].Request.Body)
	}
	checkAttempt(t, "attempt with another body", attempts[1], r2.Attempt)
}

// Delivery returns ErrNotFound for unknown ids and for another webhook's
// delivery.
func testDeliveryNotFound(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	f.wantGone(other.ID, d.ID)
	f.wantGone(w.ID, newID())
}

// listFixture stores deliveries for one webhook with many sharing a
// created_at, of several statuses and event types, plus one for another
// webhook, and returns them in the expected newest-first order.
func (f *fixture) listFixture() (*hookshot.Webhook, []*hookshot.Delivery) {
	f.t.Helper()
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	f.enqueue(other, f.now)
	statuses := []hookshot.DeliveryStatus{hookshot.DeliveryInProgress, hookshot.DeliverySucceeded, hookshot.DeliveryFailed}
	var all []*hookshot.Delivery
	for i := range 23 {
		created := f.at(-time.Duration(i%4) * time.Minute) // four created_at values, many ties
		d := f.enqueue(w, f.now, func(d *hookshot.Delivery) {
			d.Status = statuses[i%3]
			if i%5 == 0 {
				d.Event = hookshot.EventRawProcessingComplete
			}
			d.CreatedAt, d.UpdatedAt = created, created
		})
		all = append(all, d)
	}
	v := f.newValidation(w)
	v.CreatedAt = f.at(-time.Minute)
	ww := *w
	if err := f.store.UpdateWebhook(f.ctx, &ww, v, nil); err != nil {
		f.t.Fatalf("UpdateWebhook: %v", err)
	}
	all = append(all, v)
	sortNewestFirst(all)
	return w, all
}

// sortNewestFirst orders deliveries as Deliveries lists them: by
// CreatedAt, then by ID, both descending, the order a Cursor walks.
func sortNewestFirst(ds []*hookshot.Delivery) {
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].CreatedAt.Equal(ds[j].CreatedAt) {
			return ds[i].CreatedAt.After(ds[j].CreatedAt)
		}
		return ds[i].ID > ds[j].ID
	})
}

func checkIDs(t testing.TB, what string, got []*hookshot.Delivery, want []*hookshot.Delivery) {
	t.Helper()
	g, w := deliveryIDs(got), deliveryIDs(want)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("%s:\n\tgot  %v\n\twant %v", what, g, w)
	}
}

// Deliveries lists a webhook's deliveries newest first, each whole.
func testListNewestFirst(t *testing.T, f *fixture) {
	w, all := f.listFixture()
	got := f.list(hookshot.DeliveryFilter{WebhookID: w.ID, Limit: 100})
	checkIDs(t, "Deliveries", got, all)
	if len(got) == len(all) {
		for i := range all {
			checkDelivery(t, "listed delivery", got[i], all[i])
		}
	}
}

// Status and Event filter the list; empty means any.
func testListFilters(t *testing.T, f *fixture) {
	w, all := f.listFixture()
	for _, tc := range []struct {
		status hookshot.DeliveryStatus
		event  string
	}{
		{hookshot.DeliveryInProgress, ""},
		{hookshot.DeliverySucceeded, ""},
		{hookshot.DeliveryFailed, ""},
		{"", hookshot.EventRawProcessingComplete},
		{"", hookshot.EventValidation},
		{hookshot.DeliverySucceeded, hookshot.EventUpload},
		{hookshot.DeliveryFailed, hookshot.EventValidation},
	} {
		var want []*hookshot.Delivery
		for _, d := range all {
			if (tc.status == "" || d.Status == tc.status) && (tc.event == "" || d.Event == tc.event) {
				want = append(want, d)
			}
		}
		got := f.list(hookshot.DeliveryFilter{WebhookID: w.ID, Status: tc.status, Event: tc.event, Limit: 100})
		checkIDs(t, fmt.Sprintf("Deliveries with status %q, event %q", tc.status, tc.event), got, want)
	}
}

// Limit bounds the page.
func testListLimit(t *testing.T, f *fixture) {
	w, all := f.listFixture()
	for _, limit := range []int{1, 7, len(all), len(all) + 1} {
		got := f.list(hookshot.DeliveryFilter{WebhookID: w.ID, Limit: limit})
		checkIDs(t, fmt.Sprintf("Deliveries with Limit %d", limit), got, all[:min(limit, len(all))])
	}
}

// Before starts a page after a position: walking the pages, each
// starting after the last item of the one before, gives every delivery
// once, in order, ties on created_at included.
func testListPages(t *testing.T, f *fixture) {
	w, all := f.listFixture()
	for _, tc := range []struct {
		status hookshot.DeliveryStatus
		limit  int
	}{
		{"", 1}, {"", 4}, {"", 5}, {"", 24}, {hookshot.DeliverySucceeded, 2},
	} {
		var want []*hookshot.Delivery
		for _, d := range all {
			if tc.status == "" || d.Status == tc.status {
				want = append(want, d)
			}
		}
		var got []*hookshot.Delivery
		filter := hookshot.DeliveryFilter{WebhookID: w.ID, Status: tc.status, Limit: tc.limit}
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("pages of %d never end", tc.limit)
			}
			page := f.list(filter)
			if len(page) > tc.limit {
				t.Fatalf("page of %d deliveries with Limit %d", len(page), tc.limit)
			}
			got = append(got, page...)
			if len(page) < tc.limit {
				break
			}
			last := page[len(page)-1]
			filter.Before = &hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		checkIDs(t, fmt.Sprintf("pages of %d with status %q", tc.limit, tc.status), got, want)
	}
}

// ResendDelivery puts a finished delivery back in progress, due at now,
// with room for exactly one more attempt, under the same ID. The room is
// counted from the attempts made, not from the old MaxAttempts: a
// delivery that succeeded at its first of five attempts gets one more.
func testResendFinished(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 5 })
	j := f.claimOnly("engine", f.now, d)[0]
	f.record("engine", f.result(j, hookshot.DeliverySucceeded, f.now))

	// Succeeded, resent and failed, resent again and succeeded.
	for i, tc := range []struct {
		at      time.Time
		outcome hookshot.DeliveryStatus
	}{{f.at(time.Hour), hookshot.DeliveryFailed}, {f.at(2 * time.Hour), hookshot.DeliverySucceeded}} {
		attempts := i + 1
		got, err := f.store.ResendDelivery(f.ctx, w.ID, d.ID, tc.at, nil)
		if err != nil {
			t.Fatalf("ResendDelivery: %v", err)
		}
		want := *d
		want.Status, want.Attempts, want.MaxAttempts, want.NextAttemptAt = hookshot.DeliveryInProgress, attempts, attempts+1, tc.at
		checkDelivery(t, "resent delivery", got, &want, skipUpdatedAt)
		stored, _ := f.delivery(w.ID, d.ID)
		checkDelivery(t, "stored resent delivery", stored, got)

		if jobs := f.claim("engine", tc.at.Add(-time.Microsecond), 10); len(jobs) != 0 {
			t.Errorf("resent delivery claimed before its time: %v", jobIDs(jobs))
		}
		j := f.claimOnly("engine", tc.at, d)[0]
		if j.Delivery.Attempts != attempts || j.Delivery.MaxAttempts != attempts+1 {
			t.Errorf("resent job has Attempts %d, MaxAttempts %d; want %d, %d", j.Delivery.Attempts, j.Delivery.MaxAttempts, attempts, attempts+1)
		}
		f.record("engine", f.result(j, tc.outcome, tc.at))
		stored, as := f.delivery(w.ID, d.ID)
		if stored.Status != tc.outcome || len(as) != attempts+1 || as[attempts].Number != attempts+1 {
			t.Errorf("after resend %d: Status %s with %d attempts; want %s with %d", i+1, stored.Status, len(as), tc.outcome, attempts+1)
		}
	}
}

// ResendDelivery of a delivery still in progress makes it due at now with
// one more attempt than it had, so that its scheduled retries are kept
// (retry now); one leased for an attempt right now is left as it is.
func testResendInProgress(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	due := f.enqueue(w, f.at(time.Hour))
	leased := f.enqueue(w, f.at(-time.Second))
	f.claimOnly("engine", f.at(-time.Second), leased)

	got, err := f.store.ResendDelivery(f.ctx, w.ID, due.ID, f.now, nil)
	if err != nil {
		t.Fatalf("ResendDelivery in progress: %v", err)
	}
	want := *due
	want.MaxAttempts, want.NextAttemptAt = due.MaxAttempts+1, f.now
	checkDelivery(t, "delivery retried now", got, &want, skipUpdatedAt)
	f.claimOnly("other", f.now, due)

	before, _ := f.delivery(w.ID, leased.ID)
	got, err = f.store.ResendDelivery(f.ctx, w.ID, leased.ID, f.at(time.Hour), nil)
	if err != nil {
		t.Fatalf("ResendDelivery of a leased delivery: %v", err)
	}
	checkDelivery(t, "leased delivery answered", got, before)
	after, _ := f.delivery(w.ID, leased.ID)
	checkDelivery(t, "leased delivery after retry now", after, before)
}

// ResendDelivery returns ErrNotFound for unknown ids and for another
// webhook's delivery.
func testResendNotFound(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	j := f.claimOnly("engine", f.now, d)[0]
	f.record("engine", f.result(j, hookshot.DeliveryFailed, f.now))
	_, err := f.store.ResendDelivery(f.ctx, other.ID, d.ID, f.now, nil)
	wantErr(t, "ResendDelivery of another webhook's delivery", err, hookshot.ErrNotFound)
	_, err = f.store.ResendDelivery(f.ctx, w.ID, newID(), f.now, nil)
	wantErr(t, "ResendDelivery of an unknown delivery", err, hookshot.ErrNotFound)
}
