package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium tab driven over the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context
	// shots is where screenshots go: artifacts/screenshots at the top of
	// the repository, or $HOOKSHOT_ARTIFACTS/screenshots.
	shots string
	// secrets must appear on no page; each screenshot checks its page.
	secrets []string
}

// chromiumPath finds Debian's chromium (which .ci/run installs). Without
// it the browser tests skip, except under CI, where they must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("HOOKSHOT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed; .ci/run installs Debian's chromium package (apt-get install chromium)")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); skipping the browser tests")
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath(t)
	// These flags keep Chromium off the network, which is closed here,
	// and away from anything left by an earlier run.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", exe, err)
	}
	dir := os.Getenv("HOOKSHOT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	shots := filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, shots: shots}
}

// do runs steps with a deadline, failing the test with what was being
// done and the page's text when they fail.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	get(b, what, chromedp.Steps(steps...))
}

// get runs one action with a deadline and returns its value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	// Pages whose deliveries are in flight reload themselves; a navigation
	// that meets such a reload is aborted by the browser, not refused by
	// the portal, so it is made again.
	for tries := 1; err != nil && strings.Contains(err.Error(), "net::ERR_ABORTED") && tries < 3; tries++ {
		v, err = chromedp.Run(ctx, a)
	}
	if err != nil {
		b.t.Fatalf("%s: %v\npage at %s:\n%s", what, err, b.location(), b.text())
	}
	return v
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// text is the page's visible text.
func (b *browser) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

// html is the page's markup as the browser has it now.
func (b *browser) html() string {
	b.t.Helper()
	return get(b, "reading the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// screenshot saves the whole page as name.png, after checking that the
// page shows no secret.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	page := b.html()
	for _, secret := range b.secrets {
		if strings.Contains(page, secret) {
			b.t.Fatalf("the page at %s (%s) contains the secret %q", b.location(), name, secret)
		}
	}
	png := get(b, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// wantText fails unless the page's text contains each of want.
func (b *browser) wantText(want ...string) {
	b.t.Helper()
	text := b.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("the page at %s does not say %q:\n%s", b.location(), w, text)
		}
	}
}

// button finds a button by its label, e.g. button("Disable").
func button(label string) string {
	return fmt.Sprintf(`//button[normalize-space()=%q]`, label)
}

func link(label string) string {
	return fmt.Sprintf(`//a[normalize-space()=%q]`, label)
}

// TestPortalInBrowser walks a webhooks manager through the portal in real
// headless Chromium: sign in, create a webhook against a real HTTPS
// receiver and watch it validate, see a published event's delivery with
// its request and response, resend it, disable and delete the webhook,
// and find another study's webhooks out of reach. Screenshots of each
// screen land in artifacts/screenshots.
func TestPortalInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	const (
		email      = "manager@example.org"
		password   = "correct horse battery staple"
		hmacSecret = "portal-hmac-secret-never-shown"
	)
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--manage", "189", "--password-stdin")
	b.secrets = []string{password, hmacSecret}

	rc := newReceiver(t)
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":true}`))
	})
	// Study 190's webhook: the manager of 189 must not see it.
	other := newReceiver(t)
	hidden := h.createWebhook(t, 190, hookBody(other.URL+"/study-190-private-hook", "upload"))

	// Signing in: an unauthenticated visit goes to the sign-in page, and a
	// wrong password is refused with a readable message.
	b.do("opening the portal", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	b.screenshot("01-sign-in")
	b.do("signing in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)),
	)
	b.wantText("The email or the password is not right.")
	b.do("signing in",
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(link("New webhook")),
	)
	b.wantText("Webhooks of study 189", "No webhooks yet", email)
	b.screenshot("02-webhooks-empty")

	// An empty form is refused with each error next to its field, and
	// nothing is created.
	b.do("opening New webhook", chromedp.Click(link("New webhook")), chromedp.WaitVisible(chromedp.CSS(`#url`)))
	b.do("sending the empty form", chromedp.Click(button("Create webhook")), chromedp.WaitVisible(chromedp.CSS(`#url-error`)))
	b.wantText("Nothing was saved.", "This field is required", "Choose at least one event type.")
	b.screenshot("03-new-webhook-errors")
	if got := h.call("GET", "/v1/studies/189/webhooks", nil).must(t, 200); strings.Contains(string(got.Body), `"id"`) {
		t.Fatalf("an invalid form created a webhook: %s", got.Body)
	}

	// HMAC's secret field shows only once HMAC is chosen.
	if !get(b, "checking the HMAC fields are hidden", chromedp.Evaluate[bool](`document.querySelector('[data-auth="hmac"]').hidden`)) {
		t.Fatal("the HMAC fields show while no authentication is chosen")
	}
	b.do("filling in the webhook",
		chromedp.SendKeys(chromedp.CSS(`#url`), rc.URL+"/hooks/actigraph"),
		chromedp.Click(chromedp.CSS(`input[name="auth_type"][value="hmac"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)),
		chromedp.SendKeys(chromedp.CSS(`#secret`), hmacSecret),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="upload"]`)),
		chromedp.Click(chromedp.CSS(`input[name="upload.statuses"][value="completed"]`)),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="raw_processing_complete"]`)),
	)
	b.screenshot("04-new-webhook-filled")

	// Created, it validates on its own: the page polls and shows "passed"
	// once the receiver has echoed the code.
	b.do("creating the webhook and watching it validate",
		chromedp.Click(button("Create webhook")),
		chromedp.WaitVisible(chromedp.CSS(`#validation .badge-passed`)),
	)
	b.wantText("The webhook was created.", "hmac", "credentials stored encrypted, never shown", "upload (completed)", "raw_processing_complete")
	if len(rc.Validations()) != 1 {
		t.Fatalf("the receiver got %d validation requests, want 1", len(rc.Validations()))
	}
	b.screenshot("05-webhook-validated")
	hooks := listWebhooks(t, h, 189)
	if len(hooks) != 1 || hooks[0].Validation.Status != "passed" || hooks[0].Auth["type"] != "hmac" {
		t.Fatalf("study 189 has %+v, want one validated hmac webhook", hooks)
	}
	hook := hooks[0]
	hookPage := fmt.Sprintf("%s/studies/189/webhooks/%d", h.URL, hook.ID)

	// An event published through the API shows as a delivery on the
	// webhook's page, without bodies or headers (SPEC §12), which are on
	// the delivery's own page.
	pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 4242))
	if len(pub.Deliveries) != 1 {
		t.Fatalf("the event made %d deliveries, want 1", len(pub.Deliveries))
	}
	deliveryID := pub.Deliveries[0].ID
	h.waitDelivery(t, 189, hook.ID, deliveryID, "succeeded")
	row := fmt.Sprintf(`#delivery-%s`, deliveryID)
	b.do("expanding the delivery",
		chromedp.Navigate(hookPage),
		chromedp.WaitVisible(chromedp.CSS(row+` summary .badge-succeeded`)),
		chromedp.Click(chromedp.CSS(row+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(row+` .delivery-body a[href$="/deliveries/`+deliveryID+`"]`)),
	)
	expanded := get(b, "reading the delivery", chromedp.Text(chromedp.CSS(row+` .delivery-body`)))
	if !strings.Contains(expanded, deliveryID) {
		t.Fatalf("the expanded delivery does not show its GUID:\n%s", expanded)
	}
	for _, unwanted := range []string{"X-ActiGraph-Signature", `"uploadId"`, `"received"`} {
		if strings.Contains(expanded, unwanted) {
			t.Fatalf("the webhook's page shows %q of a delivery; bodies and headers belong on the delivery's page:\n%s", unwanted, expanded)
		}
	}
	b.screenshot("06-delivery-expanded")

	// The delivery's own page shows the request and response whole, and
	// Resend from it makes a second attempt under the same GUID.
	b.do("opening the delivery's page",
		chromedp.Click(chromedp.CSS(row+` a[href$="/deliveries/`+deliveryID+`"]`)),
		chromedp.WaitVisible(`//h2[normalize-space()="Attempts"]`),
	)
	b.wantText("Attempt 1", "Request", "Response", "HTTP 200")
	exchange := get(b, "reading the attempt", chromedp.Text(chromedp.CSS(`.attempt`)))
	for _, want := range []string{"POST " + rc.URL + "/hooks/actigraph", "X-ActiGraph-Signature", "X-ActiGraph-Event", "upload", `"uploadId": "4242"`, "HTTP 200", `"received": true`} {
		if !strings.Contains(exchange, want) {
			t.Fatalf("the delivery's page does not show %q:\n%s", want, exchange)
		}
	}
	b.screenshot("07-delivery")
	b.do("resending", chromedp.Click(button("Resend")), chromedp.WaitVisible(notice("The delivery was queued to be sent again.")))
	b.wantText("The delivery was queued to be sent again.")
	waitFor(t, 15*time.Second, "the resent delivery to arrive", func() bool { return len(rc.Events()) == 2 })
	h.waitDelivery(t, 189, hook.ID, deliveryID, "succeeded")
	b.do("reloading the delivery", chromedp.Reload(), chromedp.WaitVisible(`//strong[normalize-space()="Attempt 2"]`))
	b.screenshot("08-delivery-resent")
	if got := rc.Events(); string(got[0].Body) != string(got[1].Body) || got[1].Header.Get("X-ActiGraph-Delivery") != deliveryID {
		t.Fatalf("the resend did not repeat the delivery: %s vs %s, delivery %q", got[0].Body, got[1].Body, got[1].Header.Get("X-ActiGraph-Delivery"))
	}

	// Edit shows no secret and keeps it when "change credentials" is not
	// ticked.
	b.do("opening Edit", chromedp.Navigate(hookPage+"/edit"), chromedp.WaitVisible(chromedp.CSS(`#change_credentials`)))
	if !get(b, "checking the secret is locked", chromedp.Evaluate[bool](`document.querySelector('#secret').disabled && document.querySelector('#secret').value === ''`)) {
		t.Fatal("the Edit form's secret is editable or filled in before \"Change credentials\" is ticked")
	}
	b.screenshot("09-edit")
	b.do("saving without changing credentials",
		chromedp.Click(chromedp.CSS(`input[name="events"][value="daily_statistics_complete"]`)),
		chromedp.Click(button("Save changes")),
		chromedp.WaitVisible(notice("The webhook was saved.")),
	)
	b.wantText("The webhook was saved.", "daily_statistics_complete")

	// Disable: published events no longer reach the receiver.
	b.do("disabling", chromedp.Click(button("Disable")), chromedp.WaitVisible(`//button[normalize-space()="Enable"]`))
	b.wantText("The webhook is disabled", "Disabled: gets no new events")
	b.screenshot("10-webhook-disabled")
	if pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 4243)); len(pub.Deliveries) != 0 {
		t.Fatalf("a disabled webhook got a delivery: %+v", pub.Deliveries)
	}
	b.do("opening the list", chromedp.Navigate(h.URL+"/studies/189/webhooks"), chromedp.WaitVisible(chromedp.CSS(`table.webhooks`)))
	b.screenshot("11-webhooks")

	// Study 190 and its webhook do not exist as far as this account knows.
	for _, path := range []string{"/studies/190/webhooks", fmt.Sprintf("/studies/190/webhooks/%d", hidden.ID), fmt.Sprintf("/studies/189/webhooks/%d", hidden.ID)} {
		b.do("opening "+path, chromedp.Navigate(h.URL+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		page := b.html()
		if !strings.Contains(page, "Not Found") || strings.Contains(page, "study-190-private-hook") {
			t.Fatalf("%s shows something of study 190:\n%s", path, b.text())
		}
	}
	b.screenshot("12-other-study")

	// A phone-sized screen.
	b.do("opening the webhook on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(hookPage),
		chromedp.WaitVisible(chromedp.CSS(`#validation`)),
	)
	b.screenshot("13-webhook-phone")
	b.do("opening the list on a phone", chromedp.Navigate(h.URL+"/studies/189/webhooks"), chromedp.WaitVisible(chromedp.CSS(`table.webhooks`)))
	b.screenshot("14-webhooks-phone")
	b.do("back to a laptop", chromedp.EmulateViewport(1280, 900))

	// Delete asks first.
	b.do("asking to delete",
		chromedp.Navigate(hookPage),
		chromedp.Click(link("Delete")),
		chromedp.WaitVisible(button("Delete webhook")),
	)
	b.wantText(fmt.Sprintf("Delete webhook %d?", hook.ID), "This cannot be undone.")
	b.screenshot("15-delete-confirm")
	if len(listWebhooks(t, h, 189)) != 1 {
		t.Fatal("asking to delete deleted the webhook")
	}
	b.do("deleting", chromedp.Click(button("Delete webhook")), chromedp.WaitVisible(notice("The webhook was deleted.")))
	b.wantText("The webhook was deleted.", "No webhooks yet")
	if n := len(listWebhooks(t, h, 189)); n != 0 {
		t.Fatalf("study 189 still has %d webhooks after the delete", n)
	}

	// Signing out ends the session: the portal asks to sign in again.
	b.do("signing out", chromedp.Click(button("Sign out")), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	b.wantText("You are signed out.")
	b.do("coming back", chromedp.Navigate(h.URL+"/studies/189/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#email`)))

	// Every change made in the portal is in the audit trail, under the
	// account's name.
	var trail listJSON[auditJSON]
	h.call("GET", "/v1/audit?study_id=189&limit=200", nil).must(t, 200).JSON(t, &trail)
	did := map[string]bool{}
	for _, e := range trail.Items {
		if strings.HasSuffix(e.Actor, " "+email) {
			did[e.Action] = true
		}
	}
	for _, action := range []string{"created", "changed", "resent", "disabled", "deleted"} {
		if !did[action] {
			t.Errorf("the audit trail has no %q by %s: %+v", action, email, trail.Items)
		}
	}

	// Nothing secret reached the logs; the pages were checked at each
	// screenshot.
	if strings.Contains(h.Logs(), hmacSecret) || strings.Contains(h.Logs(), password) {
		t.Fatal("a secret appears in the service's logs")
	}
}

func listWebhooks(t *testing.T, h *Hookshot, study int64) []webhookJSON {
	t.Helper()
	var l listJSON[webhookJSON]
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks", study), nil).must(t, 200).JSON(t, &l)
	return l.Items
}
