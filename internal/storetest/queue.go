package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var claimTests = []test{
	{"OnlyDueInProgress", testClaimOnlyDue},
	{"OldestDueFirst", testClaimOldestFirst},
	{"Limit", testClaimLimit},
	{"SkipWebhooks", testClaimSkipWebhooks},
	{"Lease", testClaimLease},
	{"Job", testClaimJob},
	{"ValidationJob", testClaimValidationJob},
	{"Concurrent", testClaimConcurrent},
}

var recordTests = []test{
	{"MovesDeliveryOn", testRecordMovesOn},
	{"ClearsLease", testRecordClearsLease},
	{"Finished", testRecordFinished},
	{"Batch", testRecordBatch},
	{"LargeMixedBatch", testRecordLargeMixedBatch},
	{"Validation", testRecordValidation},
	{"StaleValidation", testRecordStaleValidation},
	{"DeletedDelivery", testRecordDeleted},
	{"LeaseTakenOver", testRecordTakenOver},
	{"Empty", testRecordEmpty},
}

var releaseTests = []test{
	{"ClaimableAtOnce", testRelease},
	{"OnlyOwnersLeases", testReleaseOthers},
	{"FinishedStayFinished", testReleaseFinished},
}

var lifecycleTests = []test{
	{"Ping", testPing},
	{"Close", testClose},
}

// ClaimDeliveries leases only deliveries that are in progress and due;
// one due exactly at Now is due.
func testClaimOnlyDue(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	past := f.enqueue(w, f.at(-time.Hour))
	now := f.enqueue(w, f.now)
	future := f.enqueue(w, f.at(time.Microsecond))
	for _, s := range []hookshot.DeliveryStatus{hookshot.DeliverySucceeded, hookshot.DeliveryFailed} {
		f.enqueue(w, f.at(-time.Hour), func(d *hookshot.Delivery) { d.Status = s })
	}
	f.claimOnly("engine", f.now, past, now)
	f.claimOnly("engine", f.at(time.Microsecond), future)
	// Once the leases ran out the three are due again; the finished two
	// never are.
	f.claimOnly("engine", f.at(24*time.Hour), past, now, future)
}

// ClaimDeliveries hands out the oldest due first, whatever the order of
// insertion or creation.
func testClaimOldestFirst(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	other := f.createWebhook(studyA)
	offsets := []time.Duration{-3, -7, -1, -9, -5, -2, -8}
	byDue := make([]*hookshot.Delivery, 10)
	for i, o := range offsets {
		hook := w
		if i%2 == 1 {
			hook = other
		}
		byDue[9+int(o)] = f.enqueue(hook, f.at(o*time.Second), func(d *hookshot.Delivery) {
			d.CreatedAt, d.UpdatedAt = f.at(time.Duration(-i)*time.Second), f.at(time.Duration(-i)*time.Second)
		})
	}
	var want []*hookshot.Delivery
	for _, d := range byDue {
		if d != nil {
			want = append(want, d)
		}
	}
	got := f.claim("engine", f.now, 3)
	checkIDs(t, "first claim of 3", jobDeliveries(got), want[:3])
	got = f.claim("engine", f.now, 100)
	checkIDs(t, "second claim", jobDeliveries(got), want[3:])
}

func jobDeliveries(jobs []*hookshot.Job) []*hookshot.Delivery {
	ds := make([]*hookshot.Delivery, len(jobs))
	for i, j := range jobs {
		ds[i] = j.Delivery
	}
	return ds
}

// ClaimDeliveries leases at most Limit deliveries.
func testClaimLimit(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	for i := range 5 {
		f.enqueue(w, f.at(time.Duration(-i)*time.Second))
	}
	for _, tc := range []struct{ limit, want int }{{2, 2}, {1, 1}, {5, 2}, {5, 0}} {
		if got := f.claim("engine", f.now, tc.limit); len(got) != tc.want {
			t.Errorf("claim with Limit %d got %d jobs, want %d", tc.limit, len(got), tc.want)
		}
	}
}

// ClaimDeliveries skips the webhooks in SkipWebhooks, and leaves their
// deliveries due.
func testClaimSkipWebhooks(t *testing.T, f *fixture) {
	busy := f.createWebhook(studyA)
	slow := f.createWebhook(studyA)
	free := f.createWebhook(studyA)
	b := f.enqueue(busy, f.at(-3*time.Second))
	s := f.enqueue(slow, f.at(-2*time.Second))
	fr := f.enqueue(free, f.at(-time.Second))
	jobs, err := f.store.ClaimDeliveries(f.ctx, hookshot.Claim{
		Owner: "engine", Now: f.now, LeaseFor: lease, Limit: 10, SkipWebhooks: []int64{busy.ID, slow.ID},
	})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	checkIDs(t, "claim skipping two webhooks", jobDeliveries(jobs), []*hookshot.Delivery{fr})
	f.claimOnly("engine", f.now, b, s)
}

// A claimed delivery is not claimed again, by its owner or anyone else,
// until its lease runs out; then anyone may claim it.
func testClaimLease(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	f.claimOnly("a", f.now, d)
	f.claimOnly("a", f.now)
	f.claimOnly("b", f.now)
	f.claimOnly("b", f.at(lease-time.Microsecond))
	j := f.claimOnly("b", f.at(lease+time.Microsecond), d)[0]
	if j.Delivery.Attempts != 0 {
		t.Errorf("re-claimed job has Attempts %d, want 0", j.Delivery.Attempts)
	}
	f.claimOnly("a", f.at(lease+time.Microsecond))
	f.claimOnly("c", f.at(2*lease+2*time.Microsecond), d)
}

// A job carries the delivery, its webhook whole, and the event's payload.
func testClaimJob(t *testing.T, f *fixture) {
	w1 := f.createWebhook(studyA)
	w2 := f.createWebhook(studyA, func(w *hookshot.Webhook) { w.Auth = hookshot.Auth{Type: hookshot.AuthHMAC} })
	ev1 := f.newEvent(studyA)
	d1 := f.newDelivery(w1, ev1, f.at(-2*time.Second))
	d2 := f.newDelivery(w2, ev1, f.at(-2*time.Second))
	f.publish(ev1, []*hookshot.Delivery{d1, d2}, nil)
	ev2 := f.newEvent(studyA)
	ev2.Type, ev2.Payload = hookshot.EventRawProcessingComplete, rawPayload
	d3 := f.newDelivery(w1, ev2, f.at(-time.Second))
	f.publish(ev2, []*hookshot.Delivery{d3}, nil)

	jobs := f.claim("engine", f.now, 10)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(jobs))
	}
	byID := map[string]*hookshot.Job{}
	for _, j := range jobs {
		byID[j.Delivery.ID] = j
	}
	for _, tc := range []struct {
		d       *hookshot.Delivery
		w       *hookshot.Webhook
		payload []byte
	}{{d1, w1, uploadPayload}, {d2, w2, uploadPayload}, {d3, w1, rawPayload}} {
		j := byID[tc.d.ID]
		if j == nil {
			t.Errorf("delivery %s was not claimed", tc.d.ID)
			continue
		}
		checkDelivery(t, "job delivery", j.Delivery, tc.d, skipNextAttemptAt, skipUpdatedAt)
		checkWebhook(t, "job webhook", j.Webhook, f.webhook(studyA, tc.w.ID))
		if !bytes.Equal(j.Payload, tc.payload) {
			t.Errorf("job %s payload = %q, want %q", tc.d.ID, j.Payload, tc.payload)
		}
	}
}

// A validation job's payload is the validation body of SPEC §5, the body
// to send (hookshot.Job).
func testClaimValidationJob(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	v := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	j := f.claimOnly("engine", f.now, v)[0]
	want := *v
	want.WebhookID = w.ID
	checkDelivery(t, "validation job", j.Delivery, &want, skipNextAttemptAt, skipUpdatedAt)
	checkWebhook(t, "validation job webhook", j.Webhook, f.webhook(studyA, w.ID))
	var body map[string]any
	if err := json.Unmarshal(j.Payload, &body); err != nil {
		t.Fatalf("validation payload %q: %v", j.Payload, err)
	}
	wantBody := map[string]any{"WebhookId": strconv.FormatInt(w.ID, 10), "ValidationCode": v.ValidationCode}
	if fmt.Sprint(body) != fmt.Sprint(wantBody) {
		t.Errorf("validation payload = %s, want %v", j.Payload, wantBody)
	}
}

// Claimers racing on one store never get the same delivery twice, and
// between them get all of them.
func testClaimConcurrent(t *testing.T, f *fixture) {
	const (
		webhooks  = 5
		perHook   = 40
		claimers  = 6
		batchSize = 7
	)
	var hooks []*hookshot.Webhook
	for range webhooks {
		hooks = append(hooks, f.createWebhook(studyA))
	}
	want := map[string]bool{}
	for i := range perHook {
		ev := f.newEvent(studyA)
		var ds []*hookshot.Delivery
		for _, w := range hooks {
			d := f.newDelivery(w, ev, f.at(time.Duration(-i)*time.Millisecond))
			ds = append(ds, d)
			want[d.ID] = true
		}
		f.publish(ev, ds, nil)
	}

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		owners = map[string]string{}
		errs   []error
	)
	for c := range claimers {
		owner := fmt.Sprintf("claimer-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for claims := 0; ; claims++ {
				if claims > len(want) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: claims never run dry", owner))
					mu.Unlock()
					return
				}
				jobs, err := f.store.ClaimDeliveries(f.ctx, hookshot.Claim{Owner: owner, Now: f.now, LeaseFor: lease, Limit: batchSize})
				if err == nil && len(jobs) == 0 {
					return
				}
				var results []*hookshot.Result
				mu.Lock()
				for _, j := range jobs {
					if first, dup := owners[j.Delivery.ID]; dup {
						errs = append(errs, fmt.Errorf("delivery %s claimed by %s and %s", j.Delivery.ID, first, owner))
					}
					owners[j.Delivery.ID] = owner
					// Half are recorded at once, half keep their lease:
					// either way they must not come back.
					if len(owners)%2 == 0 {
						results = append(results, f.result(j, hookshot.DeliverySucceeded, f.now))
					}
				}
				mu.Unlock()
				if err == nil && len(results) > 0 {
					err = f.store.RecordResults(f.ctx, owner, results)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(owners) != len(want) {
		t.Errorf("claimers got %d deliveries between them, want %d", len(owners), len(want))
	}
	for id := range want {
		if owners[id] == "" {
			t.Errorf("delivery %s was never claimed", id)
		}
	}
}

// RecordResults stores the attempt and moves the delivery to the
// result's Status, NextAttemptAt and MaxAttempts; Attempts becomes the
// attempt's number.
func testRecordMovesOn(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 3 })
	j := f.claimOnly("engine", f.now, d)[0]
	r := f.result(j, hookshot.DeliveryInProgress, f.at(10*time.Second))
	r.MaxAttempts = 4 // e.g. a refused OAuth2 token earns one more
	f.record("engine", r)

	got, attempts := f.delivery(w.ID, d.ID)
	want := *d
	want.Attempts, want.MaxAttempts, want.NextAttemptAt = 1, 4, f.at(10*time.Second)
	checkDelivery(t, "delivery after an attempt", got, &want, skipUpdatedAt)
	if len(attempts) != 1 {
		t.Fatalf("got %d attempts, want 1", len(attempts))
	}
	checkAttempt(t, "recorded attempt", attempts[0], r.Attempt)
}

// Recording clears the lease: an in-progress delivery is claimable, by
// anyone, as soon as its new due time comes, however long the lease was,
// and its former owner can no longer release it or record for it.
func testRecordClearsLease(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	j := f.claimOnly("a", f.now, d)[0]
	f.record("a", f.result(j, hookshot.DeliveryInProgress, f.at(time.Second)))
	if err := f.store.ReleaseDeliveries(f.ctx, "a", []string{d.ID}); err != nil {
		t.Fatalf("ReleaseDeliveries: %v", err)
	}
	stale := f.result(j, hookshot.DeliveryFailed, f.now)
	f.record("a", stale)
	if got, _ := f.delivery(w.ID, d.ID); got.Status != hookshot.DeliveryInProgress || !got.NextAttemptAt.Equal(f.at(time.Second)) {
		t.Errorf("former owner moved the delivery to Status %s, NextAttemptAt %v", got.Status, got.NextAttemptAt)
	}
	f.claimOnly("b", f.at(time.Second-time.Microsecond))
	j = f.claimOnly("b", f.at(time.Second), d)[0]
	if j.Delivery.Attempts != 1 {
		t.Errorf("claimed after one attempt with Attempts %d, want 1", j.Delivery.Attempts)
	}
}

// A succeeded or failed delivery is never claimed again.
func testRecordFinished(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ok := f.enqueue(w, f.now)
	failed := f.enqueue(w, f.now)
	var results []*hookshot.Result
	for _, j := range f.claimOnly("engine", f.now, ok, failed) {
		status := hookshot.DeliverySucceeded
		if j.Delivery.ID == failed.ID {
			status = hookshot.DeliveryFailed
		}
		results = append(results, f.result(j, status, f.now))
	}
	f.record("engine", results...)
	for _, tc := range []struct {
		d      *hookshot.Delivery
		status hookshot.DeliveryStatus
	}{{ok, hookshot.DeliverySucceeded}, {failed, hookshot.DeliveryFailed}} {
		got, _ := f.delivery(w.ID, tc.d.ID)
		if got.Status != tc.status || got.Attempts != 1 {
			t.Errorf("delivery %s: Status %s, Attempts %d; want %s, 1", tc.d.ID, got.Status, got.Attempts, tc.status)
		}
	}
	f.claimOnly("engine", f.at(1000*time.Hour))
}

// One call records a batch, each result for its own delivery.
func testRecordBatch(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	var ds []*hookshot.Delivery
	for i := range 20 {
		ds = append(ds, f.enqueue(w, f.at(time.Duration(i-20)*time.Second)))
	}
	jobs := f.claim("engine", f.now, 100)
	if len(jobs) != len(ds) {
		t.Fatalf("claimed %d, want %d", len(jobs), len(ds))
	}
	var results []*hookshot.Result
	for i, j := range jobs {
		status := hookshot.DeliverySucceeded
		if i%2 == 1 {
			status = hookshot.DeliveryInProgress
		}
		results = append(results, f.result(j, status, f.at(time.Duration(i)*time.Minute)))
	}
	f.record("engine", results...)
	for _, r := range results {
		got, attempts := f.delivery(w.ID, r.Attempt.DeliveryID)
		if got.Status != r.Status || !got.NextAttemptAt.Equal(r.NextAttemptAt) || got.Attempts != 1 || len(attempts) != 1 {
			t.Errorf("delivery %s: Status %s, NextAttemptAt %v, Attempts %d, %d attempts; want %s, %v, 1, 1",
				got.ID, got.Status, got.NextAttemptAt, got.Attempts, len(attempts), r.Status, r.NextAttemptAt)
		}
	}
}

// A batch of a hundred results is recorded as a hundred batches of one
// would be: among them an attempt whose number a late owner took, a body
// other than the payload, none at all, and an attempt that got no
// response.
func testRecordLargeMixedBatch(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	taken := f.enqueue(w, f.at(-time.Minute))
	ja := f.claimOnly("a", f.now, taken)[0]
	for range 99 {
		f.enqueue(w, f.now)
	}
	takeover := f.at(lease + time.Second)
	jobs := f.claim("engine", takeover, 200)
	if len(jobs) != 100 {
		t.Fatalf("claimed %d, want 100", len(jobs))
	}
	f.record("a", f.result(ja, hookshot.DeliveryFailed, f.now))

	var results []*hookshot.Result
	for i, j := range jobs {
		r := f.result(j, hookshot.DeliverySucceeded, takeover)
		r.Attempt.StartedAt = takeover.Add(time.Duration(i) * time.Millisecond)
		switch i {
		case 1:
			r.Attempt.Request.Body = []byte(`{"other":"body"}`)
		case 2:
			r.Attempt.Request.Body = nil
		case 3:
			r.Attempt.Response, r.Attempt.Error = nil, "dial tcp: connection refused"
			r.Status = hookshot.DeliveryInProgress
		}
		results = append(results, r)
	}
	f.record("engine", results...)

	for _, r := range results {
		d, attempts := f.delivery(w.ID, r.Attempt.DeliveryID)
		switch {
		case d.ID == taken.ID:
			if len(attempts) != 2 || attempts[0].Number == attempts[1].Number || d.Attempts != 2 || d.Status != r.Status {
				t.Errorf("delivery whose number was taken: Status %s, Attempts %d, %d attempts; want %s, 2, 2 of distinct numbers",
					d.Status, d.Attempts, len(attempts), r.Status)
			}
		default:
			if len(attempts) != 1 || d.Attempts != 1 || d.Status != r.Status || !d.NextAttemptAt.Equal(r.NextAttemptAt) {
				t.Errorf("delivery %s: Status %s, Attempts %d, NextAttemptAt %v, %d attempts; want %s, 1, %v, 1",
					d.ID, d.Status, d.Attempts, d.NextAttemptAt, len(attempts), r.Status, r.NextAttemptAt)
				continue
			}
			if r.Attempt.Request.Body == nil {
				if len(attempts[0].Request.Body) != 0 {
					t.Errorf("attempt sent without a body reads back with %q", attempts[0].Request.Body)
				}
				continue
			}
			checkAttempt(t, "attempt of delivery "+d.ID, attempts[0], r.Attempt)
		}
	}
}

// A validation result sets the webhook's validation status, and its
// CheckedAt to the attempt's StartedAt.
func testRecordValidation(t *testing.T, f *fixture) {
	for _, outcome := range []hookshot.ValidationStatus{hookshot.ValidationPassed, hookshot.ValidationFailed} {
		w := f.newWebhook(studyA)
		w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
		v := f.newValidation(w)
		if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
			t.Fatalf("CreateWebhook: %v", err)
		}
		j := f.claimOnly("engine", f.now, v)[0]
		status := hookshot.DeliverySucceeded
		if outcome == hookshot.ValidationFailed {
			status = hookshot.DeliveryFailed
		}
		r := f.result(j, status, f.now)
		r.Validation = &outcome
		f.record("engine", r)

		got := f.webhook(studyA, w.ID)
		want := *w
		want.Validation = hookshot.Validation{Status: outcome, DeliveryID: v.ID, CheckedAt: &r.Attempt.StartedAt}
		checkWebhook(t, "webhook after validation "+string(outcome), got, &want)
		d, _ := f.delivery(w.ID, v.ID)
		if d.Status != status {
			t.Errorf("validation delivery Status %s, want %s", d.Status, status)
		}
	}
}

// A validation result changes the webhook only while its delivery is the
// webhook's current validation delivery: the answer to an older request
// must not overwrite the state of a newer one.
func testRecordStaleValidation(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	old := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, old, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	j := f.claimOnly("engine", f.now, old)[0]

	current := f.newValidation(w)
	current.NextAttemptAt = f.at(time.Hour)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	if err := f.store.UpdateWebhook(f.ctx, w, current, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	passed := hookshot.ValidationPassed
	r := f.result(j, hookshot.DeliverySucceeded, f.now)
	r.Validation = &passed
	f.record("engine", r)

	checkWebhook(t, "webhook after a stale validation result", f.webhook(studyA, w.ID), w)
	d, attempts := f.delivery(w.ID, old.ID)
	if d.Status != hookshot.DeliverySucceeded || len(attempts) != 1 {
		t.Errorf("old validation delivery: Status %s with %d attempts, want succeeded with 1", d.Status, len(attempts))
	}
}

// Results for deliveries deleted meanwhile, with their webhook, are
// skipped without error; the rest of the batch is recorded.
func testRecordDeleted(t *testing.T, f *fixture) {
	gone := f.newWebhook(studyA)
	v := f.newValidation(gone)
	if err := f.store.CreateWebhook(f.ctx, gone, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	kept := f.createWebhook(studyA)
	dGone := f.enqueue(gone, f.now)
	dKept := f.enqueue(kept, f.now)
	jobs := f.claim("engine", f.now, 10)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(jobs))
	}
	// Deleting works while the deliveries are leased.
	if err := f.store.DeleteWebhook(f.ctx, studyA, gone.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook of a webhook with leased deliveries: %v", err)
	}
	var results []*hookshot.Result
	for _, j := range jobs {
		r := f.result(j, hookshot.DeliverySucceeded, f.now)
		if j.Delivery.ID == v.ID {
			passed := hookshot.ValidationPassed
			r.Validation = &passed
		}
		results = append(results, r)
	}
	f.record("engine", results...)
	f.wantGone(gone.ID, dGone.ID)
	f.wantGone(gone.ID, v.ID)
	if d, attempts := f.delivery(kept.ID, dKept.ID); d.Status != hookshot.DeliverySucceeded || len(attempts) != 1 {
		t.Errorf("kept delivery: Status %s with %d attempts, want succeeded with 1", d.Status, len(attempts))
	}
	f.claimOnly("engine", f.at(1000*time.Hour))
}

// A result from an owner whose lease ran out and passed to another gets
// its attempt stored (it did reach the receiver) but leaves the delivery
// in the new owner's hands. The new owner's own attempt of the same number
// is stored too, and its result moves the delivery on.
func testRecordTakenOver(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now, func(d *hookshot.Delivery) { d.MaxAttempts = 3 })
	ja := f.claimOnly("a", f.now, d)[0]
	takeover := f.at(lease + time.Second)
	jb := f.claimOnly("b", takeover, d)[0]

	ra := f.result(ja, hookshot.DeliveryFailed, f.now)
	f.record("a", ra)
	got, attempts := f.delivery(w.ID, d.ID)
	if len(attempts) != 1 {
		t.Fatalf("late owner's attempt: %d attempts stored, want 1", len(attempts))
	}
	checkAttempt(t, "late owner's attempt", attempts[0], ra.Attempt)
	if got.Status != hookshot.DeliveryInProgress || got.Attempts != 0 || got.MaxAttempts != 3 {
		t.Errorf("late owner moved the delivery to Status %s, Attempts %d, MaxAttempts %d", got.Status, got.Attempts, got.MaxAttempts)
	}
	// Still b's: nobody else may claim it before b's lease runs out.
	f.claimOnly("c", takeover.Add(lease-time.Microsecond))

	rb := f.result(jb, hookshot.DeliverySucceeded, takeover)
	rb.Attempt.StartedAt = takeover
	f.record("b", rb)
	got, attempts = f.delivery(w.ID, d.ID)
	if len(attempts) != 2 {
		t.Fatalf("both owners' attempts: %d stored, want 2", len(attempts))
	}
	if attempts[0].Number == attempts[1].Number || !attempts[1].StartedAt.Equal(takeover) {
		t.Errorf("stored attempts: #%d started %v, #%d started %v; want distinct numbers, b's last",
			attempts[0].Number, attempts[0].StartedAt, attempts[1].Number, attempts[1].StartedAt)
	}
	if got.Status != hookshot.DeliverySucceeded || got.Attempts != 2 {
		t.Errorf("after b's result: Status %s, Attempts %d; want succeeded, 2", got.Status, got.Attempts)
	}
}

// Recording nothing is not an error.
func testRecordEmpty(t *testing.T, f *fixture) {
	if err := f.store.RecordResults(f.ctx, "engine", nil); err != nil {
		t.Errorf("RecordResults(nil): %v", err)
	}
}

// wallClock is the current time as the engine reads it. Released
// deliveries are due at once by the store's clock, which tests cannot
// set, so claims after a release use the wall clock.
func wallClock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ReleaseDeliveries makes owner's leased deliveries claimable at once,
// by anyone.
func testRelease(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d1 := f.enqueue(w, f.at(-2*time.Second))
	d2 := f.enqueue(w, f.at(-time.Second))
	kept := f.enqueue(w, f.now)
	f.claimOnly("a", f.now, d1, d2, kept)
	if err := f.store.ReleaseDeliveries(f.ctx, "a", []string{d1.ID, d2.ID, newID()}); err != nil {
		t.Fatalf("ReleaseDeliveries: %v", err)
	}
	f.claimOnly("b", wallClock(), d1, d2)
	if err := f.store.ReleaseDeliveries(f.ctx, "a", nil); err != nil {
		t.Errorf("ReleaseDeliveries(nil): %v", err)
	}
}

// ReleaseDeliveries leaves other owners' leases alone.
func testReleaseOthers(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	da := f.enqueue(w, f.at(-time.Second))
	db := f.enqueue(w, f.now)
	f.claimOnly("a", f.at(-time.Second), da)
	f.claimOnly("b", f.now, db)
	if err := f.store.ReleaseDeliveries(f.ctx, "a", []string{da.ID, db.ID}); err != nil {
		t.Fatalf("ReleaseDeliveries: %v", err)
	}
	f.claimOnly("c", wallClock(), da)
}

// Releasing a delivery that has since finished does not put it back in
// the queue.
func testReleaseFinished(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	j := f.claimOnly("a", f.now, d)[0]
	f.record("a", f.result(j, hookshot.DeliverySucceeded, f.now))
	if err := f.store.ReleaseDeliveries(f.ctx, "a", []string{d.ID}); err != nil {
		t.Fatalf("ReleaseDeliveries: %v", err)
	}
	f.claimOnly("b", wallClock())
	if got, _ := f.delivery(w.ID, d.ID); got.Status != hookshot.DeliverySucceeded {
		t.Errorf("released finished delivery has Status %s", got.Status)
	}
}

// Ping reports that the store can be reached.
func testPing(t *testing.T, f *fixture) {
	if err := f.store.Ping(f.ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// Close releases the store: it succeeds, and the store is unusable after.
func testClose(t *testing.T, f *fixture) {
	if err := f.store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.store.Ping(f.ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
}
