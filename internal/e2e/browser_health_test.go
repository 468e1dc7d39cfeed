package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPortalHealthInBrowser shows a webhooks manager, in real headless
// Chromium, a failing receiver's health on the list and on Details,
// recovers its failed deliveries from Details once it is back, and sees
// the webhook disabled by a 410 with its reason.
func TestPortalHealthInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"), "HOOKSHOT_RETRY_SCHEDULE=50ms")
	const (
		study    = 191
		email    = "health@example.org"
		password = "a long health password"
	)
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--manage", itoa(study), "--password-stdin")
	b.secrets = []string{password}

	var status atomic.Int32
	status.Store(http.StatusInternalServerError)
	rc := newReceiver(t)
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(int(status.Load())) })
	hook := h.validatedWebhook(t, study, hookBody(rc.URL+"/hooks", "upload"))
	var failed []string
	for i := range 2 {
		id := h.publish(t, study, "upload", uploadPayload(study, "completed", 100+i)).Deliveries[0].ID
		h.waitDelivery(t, study, hook.ID, id, "failed")
		failed = append(failed, id)
	}

	b.do("signing in",
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(chromedp.CSS(`table.webhooks`)),
	)
	last := get(b, "reading the last delivery", chromedp.Text(chromedp.CSS(`table.webhooks .last-result`)))
	if !strings.Contains(last, "failed") || !strings.Contains(last, "4 in a row") {
		t.Fatalf("the list's last delivery says %q, want failed, 4 in a row", last)
	}
	b.screenshot("health-01-list-failing")

	hookPage := fmt.Sprintf("%s/studies/%d/webhooks/%d", h.URL, study, hook.ID)
	b.do("opening Details", chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`#health`)))
	health := get(b, "reading health", chromedp.Text(chromedp.CSS(`#health`)))
	for _, want := range []string{"4 failed attempts in a row", "4 attempts, 4 failed", "failing since"} {
		if !strings.Contains(strings.ToLower(health), want) {
			t.Fatalf("Details' health does not say %q:\n%s", want, health)
		}
	}
	b.screenshot("health-02-details-failing")

	// The receiver is back: recover from Details over a window that
	// starts a minute before the first failure (the field has minutes).
	status.Store(http.StatusOK)
	since := time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04")
	b.do("recovering",
		chromedp.SetValue(chromedp.CSS(`#recover-since`), since),
		chromedp.Click(chromedp.CSS(`#recover`)),
		// By its text: the page reloads itself as the recovered deliveries
		// go out, and the wait outlasts a reload where reading once would
		// not.
		chromedp.WaitVisible(`//*[contains(@class, "notice") and contains(., "2 failed deliveries were queued for one more attempt.")]`),
	)
	for _, id := range failed {
		if d := h.waitDelivery(t, study, hook.ID, id, "succeeded"); d.AttemptCount != 3 {
			t.Fatalf("recovered delivery %s has %d attempts, want 3", id, d.AttemptCount)
		}
	}
	b.do("reloading Details", chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`#health`)))
	health = get(b, "reading health", chromedp.Text(chromedp.CSS(`#health`)))
	if !strings.Contains(health, "not failing") || !strings.Contains(health, "6 attempts, 4 failed") {
		t.Fatalf("health after the recovery:\n%s", health)
	}
	b.screenshot("health-03-recovered")

	// A bad window is a readable error, and nothing is recovered.
	b.do("recovering with until before since",
		chromedp.Navigate(hookPage),
		chromedp.WaitVisible(chromedp.CSS(`#recover-since`)),
		chromedp.SetValue(chromedp.CSS(`#recover-since`), since),
		chromedp.SetValue(chromedp.CSS(`#recover-until`), "2020-01-01T00:00"),
		chromedp.Click(chromedp.CSS(`#recover`)),
		chromedp.WaitVisible(link("Back to your studies")),
	)
	b.wantText("until must be later than since")

	// A 410 disables the webhook at once; Details says why.
	status.Store(http.StatusGone)
	id := h.publish(t, study, "upload", uploadPayload(study, "completed", 200)).Deliveries[0].ID
	h.waitDelivery(t, study, hook.ID, id, "failed")
	h.waitDisabled(t, study, hook.ID)
	b.do("opening the disabled webhook", chromedp.Navigate(hookPage), chromedp.WaitVisible(`//button[normalize-space()="Enable"]`))
	b.wantText("Disabled by Hookshot", "its receiver answered 410 Gone", "Enabling it clears this.")
	b.screenshot("health-04-disabled-gone")
	b.do("opening the list", chromedp.Navigate(h.URL+fmt.Sprintf("/studies/%d/webhooks", study)), chromedp.WaitVisible(chromedp.CSS(`table.webhooks`)))
	b.wantText("disabled (gone)")
	b.screenshot("health-05-list-disabled")
	b.do("enabling", chromedp.Navigate(hookPage), chromedp.Click(button("Enable")), chromedp.WaitVisible(`//button[normalize-space()="Disable"]`))
	if page := b.text(); strings.Contains(page, "Disabled by Hookshot") {
		t.Fatalf("enabling left the reason on the page:\n%s", page)
	}
}
