package service_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// A description is optional, at most 200 characters (not bytes) of one
// line of UTF-8 text; anything else is EInvalid naming description, on
// create and on edit, and changes nothing.
func TestWebhookDescription(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	longest := strings.Repeat("é", service.MaxDescriptionLength)
	w, err := f.webhooks.Create(ctx, root, 189, service.WebhookInput{Description: longest, URL: "https://receiver.example/hook", Events: []string{hookshot.EventUpload}})
	if err != nil || w.Description != longest {
		t.Fatalf("create with 200 characters: %v, %q", err, w.Description)
	}
	for name, bad := range map[string]string{
		"201 characters": longest + "x",
		"not UTF-8":      "Data \xff warehouse",
		"two lines":      "Data\nwarehouse",
		"a control":      "Data\x00warehouse",
	} {
		_, err := f.webhooks.Create(ctx, root, 189, service.WebhookInput{Description: bad, URL: "https://receiver.example/hook", Events: []string{hookshot.EventUpload}})
		if hookshot.ErrorCode(err) != hookshot.EInvalid || !strings.Contains(hookshot.ErrorMessage(err), "description") {
			t.Errorf("create with %s: %v, want EInvalid naming description", name, err)
		}
		_, err = f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Description: &bad})
		if hookshot.ErrorCode(err) != hookshot.EInvalid {
			t.Errorf("edit to %s: %v, want EInvalid", name, err)
		}
	}
	if got, _ := f.webhooks.Get(ctx, root, 189, w.ID); got.Description != longest {
		t.Errorf("refused edits changed the description to %q", got.Description)
	}
	renamed := "Data warehouse (prod)"
	if got, err := f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Description: &renamed}); err != nil || got.Description != renamed || got.Validation.DeliveryID != w.Validation.DeliveryID {
		t.Errorf("rename: %v, %+v; want renamed without a new validation", err, got)
	}
}

// A bad list parameter is EMalformed (the API's 400) naming it.
func TestListQueryProblems(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	w := f.webhook(t, 189)
	for _, tc := range []struct {
		field string
		q     service.DeliveryQuery
	}{
		{"status", service.DeliveryQuery{Status: "done"}},
		{"event", service.DeliveryQuery{Event: "uploads"}},
		{"id", service.DeliveryQuery{ID: "42"}},
		{"event_id", service.DeliveryQuery{EventID: "not-a-guid"}},
		{"since", service.DeliveryQuery{Since: "yesterday"}},
		{"until", service.DeliveryQuery{Until: "2026-13-01T00:00:00Z"}},
		{"until", service.DeliveryQuery{Since: "2026-03-02T09:00:00Z", Until: "2026-03-02T08:00:00Z"}},
		{"cursor", service.DeliveryQuery{Cursor: "!!"}},
		{"limit", service.DeliveryQuery{Limit: 201}},
	} {
		_, _, err := f.events.Deliveries(ctx, root, 189, w.ID, tc.q)
		checkQueryProblem(t, "Deliveries", tc.field, err)
	}
	for _, tc := range []struct {
		field string
		q     service.EventQuery
	}{
		{"type", service.EventQuery{Type: "validation"}},
		{"since", service.EventQuery{Since: "2026-03-02"}},
		{"cursor", service.EventQuery{Cursor: "abc"}},
		{"limit", service.EventQuery{Limit: -1}},
	} {
		_, _, err := f.events.ListEvents(ctx, root, 189, tc.q)
		checkQueryProblem(t, "ListEvents", tc.field, err)
	}
}

func checkQueryProblem(t *testing.T, what, field string, err error) {
	t.Helper()
	var e *hookshot.Error
	if hookshot.ErrorCode(err) != hookshot.EMalformed || !errors.As(err, &e) || len(e.FieldErrors) != 1 || e.FieldErrors[0].Field != field {
		t.Errorf("%s with a bad %s: %v, want EMalformed naming only %s", what, field, err, field)
	}
}
