package storetest

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

var webhookTests = []test{
	{"CreateAndRead", testCreateAndRead},
	{"CreateSetsTimes", testCreateSetsTimes},
	{"EmptyFields", testWebhookEmptyFields},
	{"CreateWithValidation", testCreateWithValidation},
	{"List", testWebhookList},
	{"NotFound", testWebhookNotFound},
	{"Update", testUpdateWebhook},
	{"UpdateWithValidation", testUpdateWithValidation},
	{"UpdateNotFound", testUpdateNotFound},
	{"Delete", testDeleteWebhook},
	{"DeleteNotFound", testDeleteNotFound},
}

// CreateWebhook inserts w and sets its ID; every field reads back as it
// was written.
func testCreateAndRead(t *testing.T, f *fixture) {
	checked := f.at(-90 * time.Minute)
	w := f.newWebhook(studyA)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationFailed, DeliveryID: newID(), CheckedAt: &checked}
	w.CreatedAt = f.at(-2 * time.Hour)
	w.UpdatedAt = f.at(-time.Hour)
	if err := f.store.CreateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if w.ID == 0 {
		t.Fatal("CreateWebhook left ID zero")
	}
	want := *w
	checkWebhook(t, "Webhook", f.webhook(studyA, w.ID), &want)
	list, err := f.store.Webhooks(f.ctx, studyA)
	if err != nil {
		t.Fatalf("Webhooks: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("Webhooks returned %d webhooks, want 1", len(list))
	}
	checkWebhook(t, "Webhooks[0]", list[0], &want)

	other := f.createWebhook(studyA)
	if other.ID == w.ID {
		t.Errorf("two webhooks got the same ID %d", w.ID)
	}
}

// CreateWebhook sets CreatedAt and UpdatedAt: w holds afterwards what a
// read returns.
func testCreateSetsTimes(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}
	if err := f.store.CreateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if w.CreatedAt.IsZero() || w.UpdatedAt.IsZero() {
		t.Fatalf("CreateWebhook left CreatedAt %v, UpdatedAt %v", w.CreatedAt, w.UpdatedAt)
	}
	got := f.webhook(studyA, w.ID)
	if !got.CreatedAt.Equal(w.CreatedAt) || !got.UpdatedAt.Equal(w.UpdatedAt) {
		t.Errorf("read CreatedAt %v, UpdatedAt %v; CreateWebhook set %v, %v", got.CreatedAt, got.UpdatedAt, w.CreatedAt, w.UpdatedAt)
	}
}

// Empty and absent fields read back empty, not as something else.
func testWebhookEmptyFields(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA, func(w *hookshot.Webhook) {
		w.Description = ""
		w.Auth = hookshot.Auth{Type: hookshot.AuthNone}
		w.SealedCredentials = nil
		w.Events = nil
		w.EventOptions = nil
		w.Active = false
		w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
		w.PreviousSecretUntil = nil
		w.Format = ""
	})
	// The default format has one spelling: CreateWebhook names it in w
	// too.
	if w.Format != webhook.FormatActiGraph {
		t.Errorf("CreateWebhook set Format %q for \"\", want %q", w.Format, webhook.FormatActiGraph)
	}
	checkWebhook(t, "Webhook", f.webhook(studyA, w.ID), w)
}

// With a validation delivery, CreateWebhook inserts it in the same
// transaction and makes it the webhook's current validation delivery.
func testCreateWithValidation(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	v := f.newValidation(w) // WebhookID is 0: the service cannot know it yet
	if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if w.Validation.DeliveryID != v.ID {
		t.Errorf("w.Validation.DeliveryID = %q, want the validation delivery %q", w.Validation.DeliveryID, v.ID)
	}
	got := f.webhook(studyA, w.ID)
	if got.Validation.DeliveryID != v.ID {
		t.Errorf("stored Validation.DeliveryID = %q, want %q", got.Validation.DeliveryID, v.ID)
	}
	want := *v
	want.WebhookID = w.ID
	d, attempts := f.delivery(w.ID, v.ID)
	checkDelivery(t, "validation delivery", d, &want)
	if len(attempts) != 0 {
		t.Errorf("new validation delivery has %d attempts", len(attempts))
	}
	list := f.list(hookshot.DeliveryFilter{WebhookID: w.ID})
	if len(list) != 1 || list[0].ID != v.ID {
		t.Errorf("Deliveries = %v, want the validation delivery %s", deliveryIDs(list), v.ID)
	}
}

// Webhooks returns a study's webhooks, oldest first, and only that study's.
func testWebhookList(t *testing.T, f *fixture) {
	if list, err := f.store.Webhooks(f.ctx, studyA); err != nil || len(list) != 0 {
		t.Fatalf("Webhooks of an empty study = %v, %v; want none", list, err)
	}
	at := func(d time.Duration) func(*hookshot.Webhook) {
		return func(w *hookshot.Webhook) { w.CreatedAt, w.UpdatedAt = f.at(d), f.at(d) }
	}
	// Created out of order, so that insertion order and age disagree.
	second := f.createWebhook(studyA, at(-2*time.Hour))
	f.createWebhook(studyB, at(-4*time.Hour))
	third := f.createWebhook(studyA, at(-time.Hour))
	first := f.createWebhook(studyA, at(-3*time.Hour))

	list, err := f.store.Webhooks(f.ctx, studyA)
	if err != nil {
		t.Fatalf("Webhooks: %v", err)
	}
	want := []*hookshot.Webhook{first, second, third}
	if len(list) != len(want) {
		t.Fatalf("Webhooks returned %d webhooks, want %d", len(list), len(want))
	}
	for i := range want {
		checkWebhook(t, "Webhooks", list[i], want[i])
	}
}

// Webhook returns ErrNotFound for another study's webhook and unknown ids.
func testWebhookNotFound(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	_, err := f.store.Webhook(f.ctx, studyB, w.ID)
	wantErr(t, "Webhook of another study", err, hookshot.ErrNotFound)
	_, err = f.store.Webhook(f.ctx, studyA, w.ID+1000)
	wantErr(t, "unknown Webhook", err, hookshot.ErrNotFound)
}

// UpdateWebhook saves every field but ID, StudyID and CreatedAt, and sets
// UpdatedAt.
func testUpdateWebhook(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	created := w.CreatedAt
	stored := w.Validation

	checked := f.at(5 * time.Minute)
	w.URL = "https://other.example/receive"
	w.Description = "Ingest (staging)"
	w.Auth = hookshot.Auth{Type: hookshot.AuthBasic, Username: "ingest"}
	w.SealedCredentials = []byte{0xde, 0xad, 0x00, 0xbe, 0xef}
	w.Events = []string{hookshot.EventCP2DailyStatisticsComplete, hookshot.EventUpload}
	w.EventOptions = map[string]hookshot.EventOptions{hookshot.EventUpload: {Statuses: []string{"error"}}}
	w.Active = false
	w.Format = webhook.FormatActiGraph
	w.PreviousSecretUntil = ptr(f.at(90 * time.Second))
	w.Validation = hookshot.Validation{Status: hookshot.ValidationFailed, DeliveryID: newID(), CheckedAt: &checked}
	w.CreatedAt = f.at(24 * time.Hour) // not saved
	w.UpdatedAt = f.at(10 * time.Minute)
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	if w.UpdatedAt.IsZero() {
		t.Fatal("UpdateWebhook left UpdatedAt zero")
	}
	// Without a validation delivery the stored validation state stays (a
	// result may have been recorded since w was read) and is copied into w.
	if !same(w.Validation, stored) {
		t.Fatalf("UpdateWebhook without a validation delivery changed the validation to %s, want %s", show(w.Validation), show(stored))
	}
	want := *w
	want.CreatedAt = created
	checkWebhook(t, "updated Webhook", f.webhook(studyA, w.ID), &want)

	// Clearing fields saves them cleared.
	w.SealedCredentials, w.EventOptions, w.Description, w.PreviousSecretUntil = nil, nil, "", nil
	if err := f.store.UpdateWebhook(f.ctx, w, nil, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	want = *w
	want.CreatedAt = created
	checkWebhook(t, "cleared Webhook", f.webhook(studyA, w.ID), &want)
}

// With a validation delivery, UpdateWebhook inserts it and makes it the
// current one; the earlier validation delivery stays in the history.
func testUpdateWithValidation(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	first := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, first, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	second := f.newValidation(w)
	second.CreatedAt = f.at(time.Second)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationPending}
	if err := f.store.UpdateWebhook(f.ctx, w, second, nil); err != nil {
		t.Fatalf("UpdateWebhook: %v", err)
	}
	if w.Validation.DeliveryID != second.ID {
		t.Errorf("w.Validation.DeliveryID = %q, want %q", w.Validation.DeliveryID, second.ID)
	}
	if got := f.webhook(studyA, w.ID); got.Validation.DeliveryID != second.ID || got.Validation.Status != hookshot.ValidationPending {
		t.Errorf("stored Validation = %+v, want pending with delivery %s", got.Validation, second.ID)
	}
	d, _ := f.delivery(w.ID, second.ID)
	checkDelivery(t, "new validation delivery", d, second)
	f.delivery(w.ID, first.ID)
}

// UpdateWebhook returns ErrNotFound when w does not exist in its study,
// and then changes nothing, its validation delivery included.
func testUpdateNotFound(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	want := *w

	moved := *w
	moved.StudyID = studyB
	moved.URL = "https://elsewhere.example/"
	v := f.newValidation(&moved)
	err := f.store.UpdateWebhook(f.ctx, &moved, v, nil)
	wantErr(t, "UpdateWebhook in another study", err, hookshot.ErrNotFound)
	checkWebhook(t, "Webhook after a failed update", f.webhook(studyA, w.ID), &want)
	f.wantGone(w.ID, v.ID)

	unknown := *w
	unknown.ID = w.ID + 1000
	err = f.store.UpdateWebhook(f.ctx, &unknown, nil, nil)
	wantErr(t, "UpdateWebhook of an unknown webhook", err, hookshot.ErrNotFound)
}

// DeleteWebhook removes a webhook with its deliveries and attempts.
func testDeleteWebhook(t *testing.T, f *fixture) {
	w := f.newWebhook(studyA)
	v := f.newValidation(w)
	if err := f.store.CreateWebhook(f.ctx, w, v, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	keep := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	kept := f.enqueue(keep, f.now)
	jobs := f.claim("engine", f.now, 10)
	var results []*hookshot.Result
	for _, j := range jobs {
		results = append(results, f.result(j, hookshot.DeliveryFailed, f.now))
	}
	f.record("engine", results...)

	if err := f.store.DeleteWebhook(f.ctx, studyA, w.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	_, err := f.store.Webhook(f.ctx, studyA, w.ID)
	wantErr(t, "Webhook after delete", err, hookshot.ErrNotFound)
	f.wantGone(w.ID, d.ID)
	f.wantGone(w.ID, v.ID)
	if list := f.list(hookshot.DeliveryFilter{WebhookID: w.ID}); len(list) != 0 {
		t.Errorf("deleted webhook still lists deliveries %v", deliveryIDs(list))
	}
	list, err := f.store.Webhooks(f.ctx, studyA)
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("Webhooks after delete = %d webhooks, %v; want only %d", len(list), err, keep.ID)
	}
	// The other webhook keeps its delivery and attempt.
	if _, attempts := f.delivery(keep.ID, kept.ID); len(attempts) != 1 {
		t.Errorf("the other webhook's delivery has %d attempts, want 1", len(attempts))
	}
	err = f.store.DeleteWebhook(f.ctx, studyA, w.ID, nil)
	wantErr(t, "second DeleteWebhook", err, hookshot.ErrNotFound)
}

// DeleteWebhook returns ErrNotFound for another study's webhook, which it
// leaves alone, and for unknown ids.
func testDeleteNotFound(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	err := f.store.DeleteWebhook(f.ctx, studyB, w.ID, nil)
	wantErr(t, "DeleteWebhook in another study", err, hookshot.ErrNotFound)
	f.webhook(studyA, w.ID)
	err = f.store.DeleteWebhook(f.ctx, studyA, w.ID+1000, nil)
	wantErr(t, "DeleteWebhook of an unknown webhook", err, hookshot.ErrNotFound)
}
