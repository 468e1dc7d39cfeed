package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPortalEventsInBrowser walks a webhooks manager through the Events
// page and the deliveries' filters in real headless Chromium: webhooks
// listed by their names, a study's events each linking to its
// deliveries, an event's page with its payload, and a webhook's
// deliveries found by status, event type, time, delivery GUID and event
// id. Screenshots land in artifacts/screenshots (20-*).
func TestPortalEventsInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	// A validation has one attempt: on a machine busy with other tests,
	// the harness's 3s could fail it for no fault of the test.
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"), "HOOKSHOT_DELIVERY_TIMEOUT=15s", "HOOKSHOT_LEASE=40s")
	const (
		email    = "events@example.org"
		password = "correct horse battery staple"
	)
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--manage", "189", "--password-stdin")
	b.secrets = []string{password}

	// Upload 13 always fails, so that there is a failed delivery to find.
	rc := newReceiver(t)
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
		if strings.Contains(string(body), `"uploadId": "13"`) {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	named := hookBody(rc.URL+"/warehouse", "upload", "raw_processing_complete")
	named["description"] = "Data warehouse (prod)"
	warehouse := h.validatedWebhook(t, 189, named)
	plain := h.validatedWebhook(t, 189, hookBody(rc.URL+"/plain", "raw_processing_complete"))

	var pubs []publishJSON
	for _, upload := range []int{11, 12, 13} {
		pubs = append(pubs, h.publish(t, 189, "upload", uploadPayload(189, "completed", upload)))
	}
	raw := fixture(t, "raw_processing_complete.json")
	raw = []byte(strings.Replace(string(raw), `"study_id": 1064`, `"study_id": 189`, 1))
	rawPub := h.publish(t, 189, "raw_processing_complete", raw)
	h.waitSucceeded(t, 189, pubs[0], pubs[1], rawPub)
	failed := pubs[2].Deliveries[0].ID
	h.waitDelivery(t, 189, warehouse.ID, failed, "failed")

	b.do("signing in",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(link("Events")),
	)
	b.wantText("Data warehouse (prod)", fmt.Sprintf("#%d", warehouse.ID), fmt.Sprintf("Webhook %d", plain.ID))
	b.screenshot("20-webhooks-named")

	// The Events page: newest first, each event with its deliveries.
	b.do("opening Events", chromedp.Click(link("Events")), chromedp.WaitVisible(chromedp.CSS(`table.events`)), pageEnd)
	rows := get(b, "counting the events", chromedp.Evaluate[int](`document.querySelectorAll('table.events tbody tr').length`))
	if rows != 4 {
		t.Fatalf("the Events page lists %d events, want 4:\n%s", rows, b.html())
	}
	first := get(b, "reading the newest event", chromedp.Evaluate[string](`document.querySelector('table.events tbody tr').id`))
	if first != "event-"+rawPub.ID {
		t.Fatalf("the newest event is %s, want event-%s", first, rawPub.ID)
	}
	rawRow := `#event-` + rawPub.ID
	rowText := get(b, "reading the raw event", chromedp.Text(chromedp.CSS(rawRow)))
	for _, want := range []string{"raw_processing_complete", "Data warehouse (prod)", fmt.Sprintf("Webhook %d", plain.ID), "succeeded"} {
		if !strings.Contains(rowText, want) {
			t.Fatalf("the raw event's row does not say %q: %s", want, rowText)
		}
	}
	b.wantText("failed")
	b.screenshot("21-events")

	// Filtered by type.
	b.do("filtering the events by type",
		chromedp.SetValue(chromedp.CSS(`#f-event`), "raw_processing_complete"),
		chromedp.Click(button("Filter")),
		chromedp.WaitVisible(link("Clear")),
		pageEnd,
	)
	if n := get(b, "counting filtered events", chromedp.Evaluate[int](`document.querySelectorAll('table.events tbody tr').length`)); n != 1 {
		t.Fatalf("filtered by raw_processing_complete the page lists %d events, want 1", n)
	}
	b.screenshot("22-events-filtered")

	// An event links to each delivery it made.
	var toPlain string
	for _, d := range rawPub.Deliveries {
		if d.WebhookID == plain.ID {
			toPlain = d.ID
		}
	}
	b.do("following the event to a delivery",
		chromedp.Click(chromedp.CSS(rawRow+` a[href$="/deliveries/`+toPlain+`"]`)),
		chromedp.WaitVisible(`//h2[normalize-space()="Attempts"]`),
	)
	b.wantText(toPlain, rawPub.ID, "Attempt 1")

	// The event's own page, from the delivery: payload and deliveries.
	b.do("opening the event from its delivery",
		chromedp.Click(chromedp.CSS(`a[href="/studies/189/events/`+rawPub.ID+`"]`)),
		chromedp.WaitVisible(`//h2[normalize-space()="Payload"]`),
	)
	b.wantText("raw_processing_complete", `"subject_identifier": "TEST123"`, "Data warehouse (prod)", fmt.Sprintf("Webhook %d", plain.ID))
	b.screenshot("23-event")

	// A webhook's deliveries, found by status...
	hookPage := fmt.Sprintf("%s/studies/189/webhooks/%d", h.URL, warehouse.ID)
	b.do("opening the webhook", chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`#f-status`)))
	b.wantText("Data warehouse (prod)")
	b.do("finding failed deliveries",
		chromedp.SetValue(chromedp.CSS(`#f-status`), "failed"),
		chromedp.Click(button("Find")),
		chromedp.WaitVisible(link("Clear")),
		pageEnd,
	)
	b.screenshot("24-deliveries-failed")
	if got := shownDeliveries(b); len(got) != 1 || got[0] != "delivery-"+failed {
		t.Fatalf("filtered by failed the page shows %v, want only delivery-%s", got, failed)
	}
	// ...by event type and time (a window that ends before everything)...
	b.do("finding raw deliveries",
		chromedp.Navigate(hookPage+"?event=raw_processing_complete"),
		chromedp.WaitVisible(link("Clear")),
		pageEnd,
	)
	if got := shownDeliveries(b); len(got) != 1 || got[0] != "delivery-"+rawPub.Deliveries[0].ID && got[0] != "delivery-"+rawPub.Deliveries[1].ID {
		t.Fatalf("filtered by raw_processing_complete the page shows %v", got)
	}
	b.do("opening the webhook", chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`#f-until`)))
	// What the date-time picker holds once a time is picked.
	get(b, "picking a time", chromedp.Evaluate[string](`document.querySelector('#f-until').value = '2020-01-01T00:00:00'`))
	b.do("finding deliveries before 2020",
		chromedp.Click(button("Find")),
		chromedp.WaitVisible(chromedp.CSS(`#no-deliveries`)),
	)
	b.wantText("No deliveries match.")
	if got := shownDeliveries(b); len(got) != 0 {
		t.Fatalf("filtered to before 2020 the page shows %v", got)
	}
	// ...by the delivery's GUID and by the event's id.
	for _, find := range []string{strings.ToUpper(failed), pubs[2].ID} {
		b.do("finding "+find,
			chromedp.Navigate(hookPage),
			chromedp.WaitVisible(chromedp.CSS(`#f-q`)),
			chromedp.SendKeys(chromedp.CSS(`#f-q`), find),
			chromedp.Click(button("Find")),
			chromedp.WaitVisible(link("Clear")),
		)
		if got := shownDeliveries(b); len(got) != 1 || got[0] != "delivery-"+failed {
			t.Fatalf("searching for %s the page shows %v, want only delivery-%s", find, got, failed)
		}
	}
	b.wantText("The deliveries of event " + pubs[2].ID + " to this webhook.")
	b.screenshot("25-deliveries-found")
	// A time the page cannot read is said so, and nothing is listed.
	b.do("finding with a bad time",
		chromedp.Navigate(hookPage+"?since="+url.QueryEscape("yesterday")),
		chromedp.WaitVisible(chromedp.CSS(`#filter-error`)),
	)
	b.wantText("The From time must be a date and time")

	// The name is a field of the form, and editing it renames the webhook
	// everywhere.
	b.do("renaming the webhook",
		chromedp.Navigate(hookPage+"/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#description`)),
	)
	if v := get(b, "reading the name field", chromedp.Evaluate[string](`document.querySelector('#description').value`)); v != "Data warehouse (prod)" {
		t.Fatalf("the Edit form's name field holds %q", v)
	}
	b.screenshot("26-edit-name")
	b.do("saving the new name",
		chromedp.SetValue(chromedp.CSS(`#description`), "Data warehouse (staging)"),
		chromedp.Click(button("Save changes")),
		chromedp.WaitVisible(notice("The webhook was saved.")),
	)
	b.wantText("The webhook was saved.", "Data warehouse (staging)")
	if got := h.webhook(t, 189, warehouse.ID); got.Validation.Status != "passed" {
		t.Fatalf("renaming the webhook changed its validation to %s", got.Validation.Status)
	}
	var renamed struct {
		Description string `json:"description"`
	}
	h.call("GET", fmt.Sprintf("/v1/studies/189/webhooks/%d", warehouse.ID), nil).must(t, 200).JSON(t, &renamed)
	if renamed.Description != "Data warehouse (staging)" {
		t.Fatalf("the API shows the description %q after the rename", renamed.Description)
	}
}

// pageEnd waits for the footer, the end of a page: a page that shows its
// first rows may still be arriving.
var pageEnd = chromedp.WaitVisible(chromedp.CSS(`footer.footer`))

// shownDeliveries lists the element ids of the deliveries on the page.
func shownDeliveries(b *browser) []string {
	b.t.Helper()
	return get(b, "listing the deliveries", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('details.delivery')).map(e => e.id)`))
}
