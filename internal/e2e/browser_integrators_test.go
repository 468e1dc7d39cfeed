package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestIntegratorsInBrowser walks a webhooks manager through the pages for
// integrators in real headless Chromium: send a test event from a
// webhook's Details and see it arrive and in the history, read the event
// catalog, and create, use and revoke an API token of the account's own.
func TestIntegratorsInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	const (
		email    = "integrator@example.org"
		password = "correct horse battery staple"
	)
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--manage", "189,191", "--password-stdin")
	b.secrets = []string{password}
	rc := newReceiver(t)
	hook := h.validatedWebhook(t, 189, hookBody(rc.URL+"/hooks", "raw_processing_complete"))
	hookPage := fmt.Sprintf("%s/studies/189/webhooks/%d", h.URL, hook.ID)

	b.do("signing in",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(link("Event catalog")),
	)

	// Send test event: the upload status shows only for upload.
	b.do("opening Details", chromedp.Navigate(hookPage), chromedp.WaitVisible(button("Send test event")))
	choose := func(eventType string) {
		t.Helper()
		get(b, "choosing "+eventType, chromedp.Evaluate[bool](fmt.Sprintf(
			`(function () { var s = document.querySelector('#test-type'); s.value = %q; return s.dispatchEvent(new Event('change')); })()`, eventType)))
	}
	choose("raw_processing_complete")
	if !get(b, "checking the status is hidden", chromedp.Evaluate[bool](`document.querySelector('[data-for-test-type]').hidden`)) {
		t.Fatal("the upload status shows for raw_processing_complete")
	}
	choose("upload")
	b.do("choosing an upload that failed",
		chromedp.WaitVisible(chromedp.CSS(`#test-status`)),
		chromedp.SetValue(chromedp.CSS(`#test-status`), "error"),
	)
	b.screenshot("20-test-event-form")
	b.do("sending the test event", chromedp.Click(button("Send test event")), chromedp.WaitVisible(notice("A test event is on its way to the receiver")))
	b.wantText("A test event is on its way to the receiver")
	got := rc.waitEvents(t, 1)[0]
	if got.Header.Get("X-ActiGraph-Test") != "true" || got.Header.Get("X-ActiGraph-Event") != "upload" || !strings.Contains(string(got.Body), `"status": "error"`) {
		t.Fatalf("the receiver got %v %s, want the upload error example marked as a test", got.Header, got.Body)
	}
	deliveryID := got.Header.Get("X-ActiGraph-Delivery")
	h.waitDelivery(t, 189, hook.ID, deliveryID, "succeeded")
	row := "#delivery-" + deliveryID
	b.do("opening the test delivery",
		chromedp.Navigate(hookPage),
		chromedp.WaitVisible(chromedp.CSS(row+` summary .badge-succeeded`)),
		chromedp.Click(chromedp.CSS(row+` summary`)),
		chromedp.Click(chromedp.CSS(row+` a[href$="/deliveries/`+deliveryID+`"]`)),
		chromedp.WaitVisible(`//h2[normalize-space()="Attempts"]`),
	)
	exchange := get(b, "reading the attempt", chromedp.Text(chromedp.CSS(`.attempt`)))
	if !strings.Contains(exchange, "X-ActiGraph-Test") || !strings.Contains(exchange, `"studyId": "189"`) {
		t.Fatalf("the test delivery does not show its test header and example:\n%s", exchange)
	}
	b.screenshot("21-test-event-delivered")

	// The catalog: every type with its fields, schema and example.
	b.do("opening the catalog", chromedp.Click(link("Event catalog")), chromedp.WaitVisible(chromedp.CSS(`#type-cp2_daily_statistics_complete`)))
	b.wantText("upload", "raw_processing_complete", "data_retrieval_complete", "daily_statistics_complete", "cp2_daily_statistics_complete",
		"uploadId", "required", "Example", "JSON Schema")
	b.screenshot("22-catalog")

	// API tokens: created and shown once, working with the account's
	// roles, then revoked.
	b.do("opening API tokens", chromedp.Click(link("API tokens")), chromedp.WaitVisible(button("Create token")))
	b.wantText("No tokens yet.")
	b.do("creating a token",
		chromedp.SendKeys(chromedp.CSS(`#token-name`), "receiver CI"),
		chromedp.SetValue(chromedp.CSS(`#token-expires`), "2160h"),
		chromedp.Click(chromedp.CSS(`input[name="study"][value="191"]`)), // only 189
		chromedp.Click(button("Create token")),
		chromedp.WaitVisible(chromedp.CSS(`#token-secret`)),
	)
	token := strings.TrimSpace(get(b, "reading the token", chromedp.Text(chromedp.CSS(`#token-secret`))))
	if !strings.HasPrefix(token, "hst_") {
		t.Fatalf("the page shows %q as the token", token)
	}
	b.wantText("shown only this once", "receiver CI", "manages 189", "active")
	b.screenshot("23-token-created")
	b.secrets = append(b.secrets, token) // never again on a page
	h.callAs(token, "GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK)
	h.callAs(token, "GET", "/v1/studies/191/webhooks", nil).must(t, http.StatusNotFound) // the account's, not the token's
	h.callAs(token, "POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "completed", 1))).must(t, http.StatusForbidden)

	b.do("reloading the tokens", chromedp.Navigate(h.URL+"/tokens"), chromedp.WaitVisible(button("Revoke")))
	b.screenshot("24-tokens")
	b.do("revoking the token", chromedp.Click(button("Revoke")), chromedp.WaitVisible(notice("The token was revoked")))
	b.wantText("The token was revoked", "revoked")
	b.screenshot("25-token-revoked")
	waitFor(t, 5*time.Second, "the revoked token to be refused", func() bool {
		return h.callAs(token, "GET", "/v1/studies/189/webhooks", nil).Status == http.StatusUnauthorized
	})
}
