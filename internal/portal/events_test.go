package portal_test

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

func (e *env) publish(t *testing.T, studyID int64, upload int) *hookshot.Publication {
	t.Helper()
	payload := fmt.Sprintf(`{"status": "completed", "uploadId": "%d", "subjectId": "44732", "studyId": "%d"}`, upload, studyID)
	pub, err := e.svc.Events.Publish(t.Context(), admin, studyID, service.PublishInput{Type: hookshot.EventUpload, Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// The Events page and an event's page show the study's events and
// nothing of another study's; a filter the page cannot read is said so.
func TestEventsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.publish(t, study, 7001)
	theirs := e.publish(t, otherStudy, 7002)
	b, _ := e.signedIn(t)

	p := b.get(t, "/studies/189/events")
	if p.status != http.StatusOK || !strings.Contains(p.body, mine.Event.ID) || strings.Contains(p.body, theirs.Event.ID) {
		t.Fatalf("Events page: status %d, want 200 with %s and without %s:\n%s", p.status, mine.Event.ID, theirs.Event.ID, p.body)
	}
	if !strings.Contains(p.body, "none: no webhook received it") {
		t.Errorf("an event without deliveries does not say so")
	}
	p = b.get(t, "/studies/189/events/"+mine.Event.ID)
	if p.status != http.StatusOK || !strings.Contains(html.UnescapeString(p.body), `"uploadId": "7001"`) {
		t.Fatalf("event page: status %d, want 200 with the payload:\n%s", p.status, p.body)
	}
	for _, path := range []string{"/studies/190/events", "/studies/190/events/" + theirs.Event.ID, "/studies/189/events/" + theirs.Event.ID, "/studies/189/events/nope"} {
		if p := b.get(t, path); p.status != http.StatusNotFound || strings.Contains(p.body, "7002") {
			t.Errorf("GET %s: status %d, want 404 showing nothing of study 190", path, p.status)
		}
	}
	p = b.get(t, "/studies/189/events?since=yesterday")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="filter-error"`) || strings.Contains(p.body, mine.Event.ID) {
		t.Fatalf("a bad From time: status %d, want the page with the filter's error and no events:\n%s", p.status, p.body)
	}
	if p := b.get(t, "/studies/189/events?before=garbage"); p.status != http.StatusSeeOther {
		t.Errorf("a damaged cursor: status %d, want a redirect to the first page", p.status)
	}
}

// The form's name field is the webhook's description: shown in the list
// and on Details, and refused beyond 200 characters next to its field.
func TestWebhookName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	form := validForm(csrf)
	form.Set("description", strings.Repeat("x", 201))
	p := b.post(t, "/studies/189/webhooks", form)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("201 characters: status %d, want 422", p.status)
	}
	assertFieldError(t, p.body, "description-error", `id="description"`)
	if len(e.hooks(t, study)) != 0 {
		t.Fatal("a refused name created a webhook")
	}
	form.Set("description", "Data warehouse (prod)")
	if p := b.post(t, "/studies/189/webhooks", form); p.status != http.StatusSeeOther {
		t.Fatalf("create with a name: status %d\n%s", p.status, p.body)
	}
	hooks := e.hooks(t, study)
	if len(hooks) != 1 || hooks[0].Description != "Data warehouse (prod)" {
		t.Fatalf("stored %+v", hooks)
	}
	for _, path := range []string{"/studies/189/webhooks", fmt.Sprintf("/studies/189/webhooks/%d", hooks[0].ID)} {
		if p := b.get(t, path); !strings.Contains(p.body, "Data warehouse (prod)") {
			t.Errorf("%s does not show the name", path)
		}
	}
}
