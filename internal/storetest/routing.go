package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var routingTests = []test{
	{"SeesEveryChange", testRoutingSeesEveryChange},
	{"ListsInOrder", testRoutingListsInOrder},
	{"ConcurrentReads", testRoutingConcurrentReads},
}

// routingVersioner is a store whose RoutingWebhooks caches by a version
// (sqlstore.Store); the suite then checks what bumps it.
type routingVersioner interface {
	RoutingVersion(ctx context.Context, studyID int64) (int64, error)
}

// routingCheck compares RoutingWebhooks with Webhooks after each step of a
// test, and the routing version with the one before the step.
type routingCheck struct {
	f       *fixture
	study   int64
	version int64
}

func (f *fixture) routingCheck(study int64) *routingCheck {
	f.t.Helper()
	c := &routingCheck{f: f, study: study}
	c.step("the start", false)
	return c
}

// step checks that RoutingWebhooks shows the study's webhooks as Webhooks
// does now, and that the routing version moved on when bumped is set, and
// stayed otherwise. The cache is warmed first by the previous step's
// read, so a change that forgot the version would show up as a stale list.
func (c *routingCheck) step(what string, bumped bool) {
	f := c.f
	f.t.Helper()
	got, err := f.store.RoutingWebhooks(f.ctx, c.study)
	if err != nil {
		f.t.Fatalf("%s: RoutingWebhooks: %v", what, err)
	}
	want, err := f.store.Webhooks(f.ctx, c.study)
	if err != nil {
		f.t.Fatalf("%s: Webhooks: %v", what, err)
	}
	if len(got) != len(want) {
		f.t.Fatalf("after %s: RoutingWebhooks lists %d webhooks, Webhooks %d", what, len(got), len(want))
	}
	for i := range want {
		checkRouted(f.t, "after "+what, got[i], want[i])
	}
	// Read twice: the second comes from the cache where there is one.
	again, err := f.store.RoutingWebhooks(f.ctx, c.study)
	if err != nil || len(again) != len(want) {
		f.t.Fatalf("after %s: RoutingWebhooks again: %d webhooks, %v", what, len(again), err)
	}
	for i := range want {
		checkRouted(f.t, "after "+what+", read again", again[i], want[i])
	}
	vs, ok := f.store.(routingVersioner)
	if !ok {
		return
	}
	v, err := vs.RoutingVersion(f.ctx, c.study)
	if err != nil {
		f.t.Fatalf("%s: RoutingVersion: %v", what, err)
	}
	switch {
	case bumped && v <= c.version:
		f.t.Errorf("after %s: routing version %d, want more than %d", what, v, c.version)
	case !bumped && v != c.version:
		f.t.Errorf("after %s: routing version %d, want %d unchanged (no routing change)", what, v, c.version)
	}
	c.version = v
}

// checkRouted compares what publish and the delivery read from a webhook;
// Health is not among them, nor the times only a read for people shows.
func checkRouted(t testing.TB, what string, got, want *hookshot.Webhook) {
	t.Helper()
	var d diffs
	d.checkWebhookSettings(got, want)
	d.check("DisabledReason", got.DisabledReason, want.DisabledReason)
	d.report(t, what)
	if got.Health != (hookshot.Health{}) {
		t.Errorf("%s: RoutingWebhooks gave Health %+v, want it left zero", what, got.Health)
	}
}

// RoutingWebhooks shows every change of a study's webhooks as soon as it
// is made: creating, editing each thing publish or a delivery reads,
// disabling and enabling by hand, a validation result, the health check
// disabling it, and deleting. Recording attempts, which moves the health
// counters on, and publishing change nothing it shows.
func testRoutingSeesEveryChange(t *testing.T, f *fixture) {
	c := f.routingCheck(studyA)
	other := f.routingCheck(studyB)

	w := f.newWebhook(studyA)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	v := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	c.step("creating a webhook", true)

	j := f.claimOnly("engine", f.now, v)[0]
	r := f.result(j, hookshot.DeliverySucceeded, f.now)
	passed := hookshot.ValidationPassed
	r.Validation, r.Event = &passed, hookshot.EventValidation
	f.record("engine", r)
	c.step("the validation passing", true)

	edits := []struct {
		what string
		edit func(w *hookshot.Webhook)
	}{
		{"changing the events", func(w *hookshot.Webhook) { w.Events = []string{hookshot.EventUpload} }},
		{"changing the event options", func(w *hookshot.Webhook) {
			w.EventOptions = map[string]hookshot.EventOptions{hookshot.EventUpload: {Statuses: []string{"error"}}}
		}},
		{"changing the URL", func(w *hookshot.Webhook) { w.URL += "&v=2" }},
		{"changing the authentication", func(w *hookshot.Webhook) {
			w.Auth = hookshot.Auth{Type: hookshot.AuthHMAC}
			w.SealedCredentials = []byte("sealed hmac secret")
		}},
		{"rotating the secret", func(w *hookshot.Webhook) { w.PreviousSecretUntil = ptr(f.at(time.Hour)) }},
		{"changing the format", func(w *hookshot.Webhook) { w.Format = "" }},
		{"renaming", func(w *hookshot.Webhook) { w.Description = "renamed" }},
		{"disabling by hand", func(w *hookshot.Webhook) { w.Active = false }},
		{"enabling by hand", func(w *hookshot.Webhook) { w.Active = true }},
	}
	for _, e := range edits {
		e.edit(w)
		w.UpdatedAt = time.Time{}
		if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
			t.Fatalf("%s: UpdateWebhook: %v", e.what, err)
		}
		c.step(e.what, true)
	}
	// Saving it unchanged touches only updated_at.
	w.UpdatedAt = f.at(time.Minute)
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.step("saving it unchanged", false)

	d := f.enqueue(w, f.now)
	c.step("publishing", false)
	f.attemptAt(d, f.at(time.Second), hookshot.DeliveryInProgress)
	c.step("recording a failed attempt", false)
	f.attemptAt(d, f.at(2*time.Second), hookshot.DeliverySucceeded)
	c.step("recording a successful attempt", false)

	d = f.enqueue(w, f.now)
	f.attemptAt(d, f.at(3*time.Second), hookshot.DeliveryFailed, func(r *hookshot.Result) { r.Gone = true })
	c.step("the health check disabling it", true)
	if got := f.webhook(studyA, w.ID); got.Active || got.DisabledReason == nil {
		t.Fatalf("the 410 did not disable the webhook: active %v, reason %v", got.Active, got.DisabledReason)
	}
	if err := f.store.UpdateWebhook(f.ctx, activated(f.webhook(studyA, w.ID)), nil, nil); err != nil {
		t.Fatal(err)
	}
	c.step("enabling it after the health check", true)

	revalidation := f.newValidation(w)
	pending := f.webhook(studyA, w.ID)
	pending.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	if err := f.store.UpdateWebhook(f.ctx, pending, revalidation, nil); err != nil {
		t.Fatal(err)
	}
	c.step("starting a new validation", true)

	if err := f.store.DeleteWebhook(f.ctx, studyA, w.ID, nil); err != nil {
		t.Fatal(err)
	}
	c.step("deleting it", true)
	other.step("all the changes of another study", false)
}

// RoutingWebhooks lists oldest first, as Webhooks does, and a new webhook
// joins the list of a study that already has one cached.
func testRoutingListsInOrder(t *testing.T, f *fixture) {
	c := f.routingCheck(studyA)
	f.createWebhook(studyA, func(w *hookshot.Webhook) { w.CreatedAt = f.at(-time.Hour) })
	c.step("creating one", true)
	f.createWebhook(studyA, func(w *hookshot.Webhook) { w.CreatedAt = f.at(-2 * time.Hour) })
	c.step("creating an older one", true)
	f.createWebhook(studyB)
	c.step("creating one in another study", false)
}

// While other publishes read and cache the list concurrently, each change
// is seen by the first read after it: a read that began before the change
// and finishes after it must not leave its older list cached.
func testRoutingConcurrentReads(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	ctx, stop := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := f.store.RoutingWebhooks(ctx, studyA); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	defer func() {
		stop()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("a concurrent RoutingWebhooks: %v", err)
		}
	}()
	variants := [][]string{{hookshot.EventUpload}, {hookshot.EventRawProcessingComplete}}
	for i := range 30 {
		w.Events = variants[i%2]
		if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
			t.Fatalf("UpdateWebhook: %v", err)
		}
		got, err := f.store.RoutingWebhooks(f.ctx, studyA)
		if err != nil {
			t.Fatalf("RoutingWebhooks: %v", err)
		}
		if len(got) != 1 || !same(got[0].Events, w.Events) {
			t.Fatalf("change %d: RoutingWebhooks shows %v, want events %v", i, got, w.Events)
		}
	}
}
