package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookshot/hookshot/webhook"
)

// TestPortalSignaturesInBrowser: a manager creates a Standard Webhooks
// webhook in headless Chromium and is shown its generated secret once,
// sees the format on Details, rotates the secret there (shown once
// again), and events then verify with the old and the new secret; ed25519
// in format actigraph is refused next to its field.
func TestPortalSignaturesInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	const email, password = "signer@example.org", "correct horse battery staple"
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--manage", "189", "--password-stdin")
	b.secrets = []string{password}
	rc := newReceiver(t)

	b.do("signing in",
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(link("New webhook")),
	)

	// Ed25519 signs in format standard only: refused next to the field.
	b.do("asking for ed25519 in format actigraph",
		chromedp.Click(link("New webhook")),
		chromedp.WaitVisible(chromedp.CSS(`#url`)),
		chromedp.SendKeys(chromedp.CSS(`#url`), rc.URL+"/hooks"),
		chromedp.Click(chromedp.CSS(`input[name="auth_type"][value="ed25519"]`)),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="upload"]`)),
		chromedp.Click(button("Create webhook")),
		chromedp.WaitVisible(chromedp.CSS(`#auth_type-error`)),
	)
	b.wantText("Nothing was saved.", "format standard")
	b.screenshot("signatures-01-ed25519-needs-standard")

	// Format standard with hmac and no secret: one is generated and shown
	// once.
	b.do("creating a Standard Webhooks webhook",
		chromedp.Click(chromedp.CSS(`input[name="format"][value="standard"]`)),
		chromedp.Click(chromedp.CSS(`input[name="auth_type"][value="hmac"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)),
	)
	b.screenshot("signatures-02-new-standard")
	b.do("creating it", chromedp.Click(button("Create webhook")), chromedp.WaitVisible(chromedp.CSS(`#generated-secret`)))
	first := strings.TrimSpace(get(b, "reading the secret", chromedp.Text(chromedp.CSS(`#generated-secret`))))
	if err := webhook.CheckStandardSecret(first); err != nil {
		t.Fatalf("the page shows secret %q: %v", first, err)
	}
	b.wantText("it is shown this once")
	b.screenshot("signatures-03-secret-shown-once")
	b.secrets = append(b.secrets, first)

	hooks := listWebhooks(t, h, 189)
	if len(hooks) != 1 {
		t.Fatalf("study 189 has %d webhooks, want 1", len(hooks))
	}
	hookPage := fmt.Sprintf("%s/studies/189/webhooks/%d", h.URL, hooks[0].ID)
	b.do("going to the webhook",
		chromedp.Click(link("I have copied it: go to the webhook")),
		chromedp.WaitVisible(chromedp.CSS(`#validation .badge-passed`)),
	)
	b.wantText("Standard Webhooks", "webhook-signature", "Rotate the secret")
	b.screenshot("signatures-04-details-standard")

	// The edit form keeps the format.
	b.do("opening Edit", chromedp.Navigate(hookPage+"/edit"), chromedp.WaitVisible(chromedp.CSS(`#url`)))
	if !get(b, "reading the format", chromedp.Evaluate[bool](`document.querySelector('input[name="format"][value="standard"]').checked`)) {
		t.Fatal("the Edit form does not show format standard")
	}

	// Rotating on Details, with a generated secret and an hour's overlap.
	b.do("rotating the secret",
		chromedp.Navigate(hookPage),
		chromedp.WaitVisible(button("Rotate secret")),
		chromedp.SetValue(chromedp.CSS(`#overlap`), "1h"),
		chromedp.Click(button("Rotate secret")),
		chromedp.WaitVisible(chromedp.CSS(`#generated-secret`)),
	)
	second := strings.TrimSpace(get(b, "reading the new secret", chromedp.Text(chromedp.CSS(`#generated-secret`))))
	if second == first || webhook.CheckStandardSecret(second) != nil {
		t.Fatalf("the rotation shows %q", second)
	}
	b.wantText("The secret was replaced.", "keeps signing until")
	b.screenshot("signatures-05-rotated-secret-once")
	b.secrets = append(b.secrets, second)
	b.do("back to Details", chromedp.Navigate(hookPage), chromedp.WaitVisible(chromedp.CSS(`#previous-secret`)))
	b.wantText("the previous secret also signs until")
	b.screenshot("signatures-06-details-overlap")

	// A bad overlap is refused on the page, and nothing changes.
	b.do("rotating with a bad overlap",
		chromedp.SetValue(chromedp.CSS(`#overlap`), "soon"),
		chromedp.Click(button("Rotate secret")),
		chromedp.WaitVisible(chromedp.CSS(`#rotate-error`)),
	)
	b.wantText("is not a duration")
	b.screenshot("signatures-07-rotate-error")

	// Events now verify with either secret; no new validation ran.
	pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 7))
	h.waitSucceeded(t, 189, pub)
	event := rc.Events()[0]
	for _, secret := range []string{first, second} {
		if err := goStandardVerify(t, secret, event); err != nil {
			t.Errorf("the event does not verify with a secret of the overlap: %v", err)
		}
	}
	if n := len(rc.Validations()); n != 1 {
		t.Errorf("the receiver got %d validation requests, want 1", n)
	}
	if strings.Contains(h.Logs(), first) || strings.Contains(h.Logs(), second) {
		t.Fatal("a generated secret appears in the logs")
	}

	// An ed25519 webhook: Details lists the study's key, and rotating adds
	// one; both are in the JWKS until the overlap ends.
	edReceiver := newReceiver(t)
	b.do("creating an ed25519 webhook",
		chromedp.Navigate(h.URL+"/studies/189/webhooks/new"),
		chromedp.WaitVisible(chromedp.CSS(`#url`)),
		chromedp.SendKeys(chromedp.CSS(`#url`), edReceiver.URL+"/hooks"),
		chromedp.Click(chromedp.CSS(`input[name="format"][value="standard"]`)),
		chromedp.Click(chromedp.CSS(`input[name="auth_type"][value="ed25519"]`)),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="upload"]`)),
		chromedp.Click(button("Create webhook")),
		chromedp.WaitVisible(chromedp.CSS(`#validation .badge-passed`)),
	)
	if n := get(b, "counting keys", chromedp.Evaluate[int](`document.querySelectorAll('#signing-keys li').length`)); n != 1 {
		t.Fatalf("Details lists %d signing keys, want 1", n)
	}
	b.wantText("The study's signing keys", "current")
	b.screenshot("signatures-08-ed25519-details")
	b.do("rotating the signing key",
		chromedp.SetValue(chromedp.CSS(`#key_overlap`), "1h"),
		chromedp.Click(button("Rotate signing key")),
		chromedp.WaitVisible(notice("The study has a new signing key.")),
	)
	b.wantText("The study has a new signing key.", "signs until")
	if n := get(b, "counting keys", chromedp.Evaluate[int](`document.querySelectorAll('#signing-keys li').length`)); n != 2 {
		t.Fatalf("after the rotation Details lists %d signing keys, want 2", n)
	}
	b.screenshot("signatures-09-signing-key-rotated")
	var set jwksJSON
	h.callAs("", "GET", "/v1/studies/189/jwks.json", nil).must(t, 200).JSON(t, &set)
	if len(set.Keys) != 2 {
		t.Fatalf("the JWKS has %d keys after the rotation, want 2", len(set.Keys))
	}
	auditHas(t, h, "signing_key_rotated", "signing key "+set.Keys[0]["kid"])
}
