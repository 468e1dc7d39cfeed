package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminPagesInBrowser walks an admin through the admin pages in real
// headless Chromium (SPEC §18): the studies that have webhooks, then an
// account made, given roles and a password, a token created and seen
// once, used against the API and revoked, the audit trail filtered, and
// the account deleted; a manager is refused the pages. Screenshots of
// each screen land in artifacts/screenshots as admin-*.png.
func TestAdminPagesInBrowser(t *testing.T) {
	t.Parallel()
	b := newBrowser(t)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	const (
		rootEmail     = "root@example.org"
		rootPassword  = "the root admin's password"
		managerEmail  = "manager@example.org"
		managerPass   = "the manager's password"
		carolEmail    = "carol@example.org"
		carolPassword = "carol's portal password"
	)
	h.cli(t, rootPassword+"\n", "accounts", "create", "--email", rootEmail, "--admin", "--password-stdin")
	h.cli(t, managerPass+"\n", "accounts", "create", "--email", managerEmail, "--manage", "189", "--password-stdin")
	b.secrets = []string{rootPassword, managerPass, carolPassword}

	rc := newReceiver(t)
	h.createWebhook(t, 189, hookBody(rc.URL+"/a", "upload"))
	off := h.createWebhook(t, 189, hookBody(rc.URL+"/b", "upload"))
	h.call("POST", fmt.Sprintf("/v1/studies/189/webhooks/%d/disable", off.ID), nil).must(t, 200)
	h.createWebhook(t, 4242, hookBody(rc.URL+"/c", "upload"))

	// The admin's home lists the studies that have webhooks.
	b.do("signing in as the admin",
		chromedp.Navigate(h.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), rootEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), rootPassword),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(chromedp.CSS(`.study-list`)),
	)
	b.wantText("Studies with webhooks", "Study 189", "2 webhooks, 1 enabled", "Study 4242", "1 webhook, 1 enabled")
	b.screenshot("admin-01-studies")

	// A new account: a short password is refused, with nothing created.
	b.do("opening Accounts", chromedp.Click(link("Accounts")), chromedp.WaitVisible(chromedp.CSS(`table.accounts`)))
	b.wantText(rootEmail, managerEmail, "manages webhooks of 189")
	b.screenshot("admin-02-accounts")
	b.do("opening New account", chromedp.Click(link("New account")), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	b.do("sending a short password",
		chromedp.SendKeys(chromedp.CSS(`#email`), carolEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), "too short"),
		chromedp.SendKeys(chromedp.CSS(`#manage`), "189"),
		chromedp.Click(button("Create account")),
		chromedp.WaitVisible(chromedp.CSS(`#password-error`)),
	)
	b.wantText("at least 12 characters", "Nothing was saved")
	b.screenshot("admin-03-new-account-errors")
	var accounts listJSON[accountJSON]
	h.call("GET", "/v1/accounts", nil).must(t, 200).JSON(t, &accounts)
	if len(accounts.Items) != 2 {
		t.Fatalf("a refused form created an account: %+v", accounts.Items)
	}
	// Without a password, the account only calls the API; one is set below.
	b.do("creating the account", chromedp.Click(button("Create account")), chromedp.WaitVisible(notice("The account was created.")))
	b.wantText("The account was created.", carolEmail, "no password: tokens only")
	b.screenshot("admin-04-account")
	carolPage, _, _ := strings.Cut(b.location(), "?")
	carolID := regexp.MustCompile(`/admin/accounts/(\d+)`).FindStringSubmatch(carolPage)
	if carolID == nil {
		t.Fatalf("the account page is at %s", carolPage)
	}
	accountAPI := "/v1/accounts/" + carolID[1]

	// Roles.
	b.do("giving roles",
		chromedp.SetValue(chromedp.CSS(`#publish`), "1064, 189"),
		chromedp.SetValue(chromedp.CSS(`#manage`), "189 190"),
		chromedp.Click(button("Save roles")),
		chromedp.WaitVisible(notice("The account's roles were saved.")),
	)
	b.wantText("The account's roles were saved.", "publishes for 189, 1064", "manages webhooks of 189, 190")
	b.screenshot("admin-05-roles")
	var carol accountJSON
	h.call("GET", accountAPI, nil).must(t, 200).JSON(t, &carol)
	if fmt.Sprint(carol.Publish, carol.Manage) != "[189 1064] [189 190]" || carol.Admin || carol.HasPassword {
		t.Fatalf("after saving roles the API says %+v", carol)
	}

	// A password, through a password input; a short one is refused.
	if typ := get(b, "reading the password input", chromedp.Evaluate[string](`document.querySelector('#new-password').type`)); typ != "password" {
		t.Fatalf("the new password field is of type %q", typ)
	}
	b.do("setting a short password",
		chromedp.SendKeys(chromedp.CSS(`#new-password`), "eleven char"),
		chromedp.Click(button("Set password")),
		chromedp.WaitVisible(chromedp.CSS(`#new-password-error`)),
	)
	b.wantText("at least 12 characters")
	b.do("setting the password",
		chromedp.SendKeys(chromedp.CSS(`#new-password`), carolPassword),
		chromedp.Click(button("Set password")),
		chromedp.WaitVisible(notice("The password was set.")),
	)
	b.wantText("The password was set.", "password set")
	b.screenshot("admin-06-password-set")
	if !portalSignIn(t, h, carolEmail, carolPassword) {
		t.Fatal("the password set in the portal does not sign in")
	}

	// A token, shown this once, that works against the API.
	b.do("creating a token",
		chromedp.SendKeys(chromedp.CSS(`#token-name`), "upload pipeline"),
		chromedp.SetValue(chromedp.CSS(`#token-expires`), "30d"),
		chromedp.Click(button("Create token")),
		chromedp.WaitVisible(chromedp.CSS(`#new-token-value`)),
	)
	token := strings.TrimSpace(get(b, "reading the token", chromedp.Text(chromedp.CSS(`#new-token-value`))))
	if !strings.HasPrefix(token, "hst_") {
		t.Fatalf("the page shows %q as the token", token)
	}
	b.wantText("it is shown this once")
	b.screenshot("admin-07-token-once")
	b.secrets = append(b.secrets, token)
	h.callAs(token, "GET", "/v1/studies/189/webhooks", nil).must(t, 200)
	b.do("opening the account again", chromedp.Navigate(carolPage), chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))
	b.wantText("upload pipeline", "active")
	b.screenshot("admin-08-token-listed") // fails if the token is on the page again

	b.do("revoking the token", chromedp.Click(button("Revoke")), chromedp.WaitVisible(notice("The token was revoked")))
	b.wantText("The token was revoked", "revoked")
	b.screenshot("admin-09-token-revoked")
	h.callAs(token, "GET", "/v1/studies/189/webhooks", nil).must(t, 401)

	// The audit trail, filtered by actor and action, then by study.
	b.do("opening the audit trail", chromedp.Click(link("Audit trail")), chromedp.WaitVisible(chromedp.CSS(`table.audit`)))
	b.screenshot("admin-10-audit")
	b.do("filtering by actor and action",
		chromedp.SendKeys(chromedp.CSS(`#f-actor`), rootEmail),
		chromedp.SetValue(chromedp.CSS(`#f-action`), "revoked"),
		chromedp.Click(button("Filter")),
		chromedp.WaitVisible(link("Clear")),
	)
	rows := get(b, "counting the entries", chromedp.Evaluate[int](`document.querySelectorAll('table.audit tbody tr').length`))
	b.wantText("token ", "of account "+carolID[1], `name "upload pipeline"`)
	if rows != 1 {
		t.Fatalf("actor %s and action revoked list %d entries, want 1:\n%s", rootEmail, rows, b.text())
	}
	b.screenshot("admin-11-audit-filtered")
	b.do("filtering by study",
		chromedp.Navigate(h.URL+"/admin/audit?study=189"),
		chromedp.WaitVisible(chromedp.CSS(`table.audit`)),
	)
	if rows := get(b, "counting the entries", chromedp.Evaluate[int](`document.querySelectorAll('table.audit tbody tr').length`)); rows != 3 {
		t.Fatalf("study 189 has %d entries, want its two webhooks' creation and one disable:\n%s", rows, b.text())
	}

	// Deleting asks first.
	b.do("asking to delete",
		chromedp.Navigate(carolPage),
		chromedp.Click(link("Delete account")),
		chromedp.WaitVisible(button("Delete account")),
	)
	b.wantText("Delete "+carolEmail+"?", "This cannot be undone.")
	b.screenshot("admin-12-delete-confirm")
	h.call("GET", accountAPI, nil).must(t, 200)
	b.do("deleting", chromedp.Click(button("Delete account")), chromedp.WaitVisible(notice("The account, its tokens and its sessions were deleted.")))
	b.wantText("The account, its tokens and its sessions were deleted.")
	if strings.Contains(b.text(), carolEmail) {
		t.Fatal("the deleted account is still listed")
	}
	h.call("GET", accountAPI, nil).must(t, 404)
	if portalSignIn(t, h, carolEmail, carolPassword) {
		t.Fatal("the deleted account still signs in")
	}

	// A manager gets the 403 page for every admin page.
	b.do("signing out", chromedp.Click(button("Sign out")), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	b.do("signing in as the manager",
		chromedp.SendKeys(chromedp.CSS(`#email`), managerEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), managerPass),
		chromedp.Click(button("Sign in")),
		chromedp.WaitVisible(link("New webhook")),
	)
	if strings.Contains(b.html(), "/admin/") {
		t.Fatal("a manager's page links to the admin pages")
	}
	for _, path := range []string{"/admin/accounts", "/admin/audit", "/admin/accounts/1"} {
		b.do("opening "+path, chromedp.Navigate(h.URL+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		b.wantText("Forbidden", "Only administrators")
		if strings.Contains(b.text(), rootEmail) {
			t.Fatalf("%s shows an account to a manager", path)
		}
	}
	b.screenshot("admin-13-manager-forbidden")

	// The changes are in the audit trail under the admin's name, read
	// through the API's new filters.
	var trail listJSON[auditJSON]
	h.call("GET", "/v1/audit?actor="+url.QueryEscape(rootEmail)+"&limit=200", nil).must(t, 200).JSON(t, &trail)
	did := map[string]bool{}
	for _, e := range trail.Items {
		if !strings.HasSuffix(e.Actor, " "+rootEmail) {
			t.Errorf("actor=%s returned an entry by %s", rootEmail, e.Actor)
		}
		did[e.Action] = true
	}
	for _, action := range []string{"created", "changed", "password_set", "revoked", "deleted"} {
		if !did[action] {
			t.Errorf("the audit trail has no %q by %s: %+v", action, rootEmail, trail.Items)
		}
	}
	if strings.Contains(h.Logs(), token) || strings.Contains(h.Logs(), carolPassword) {
		t.Fatal("a secret appears in the service's logs")
	}
}

// notice finds the page's notice when it says text.
func notice(text string) string {
	return fmt.Sprintf(`//div[@class="notice" and contains(normalize-space(), %q)]`, text)
}

// portalSignIn reports whether the portal signs email in with password,
// through its sign-in form.
func portalSignIn(t *testing.T, h *Hookshot, email, password string) bool {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(h.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form token on the sign-in page:\n%s", page)
	}
	resp, err = client.PostForm(h.URL+"/login", url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther
}

// TestAuditFiltersOverAPI: GET /v1/audit takes actor (a part of the
// actor's name, any case) and action (exactly), on both stores, and
// refuses an unknown action with a problem that lists the known ones.
func TestAuditFiltersOverAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, be backend) {
		h := start(t, be.database(t))
		aliceID := h.cliAccount(t, "--email", "alice@example.org", "--admin")
		alice := h.cliToken(t, "alice@example.org", "alice's token")
		h.callAs(alice, "POST", "/v1/accounts", map[string]any{"email": "bob@example.org"}).must(t, 201)
		h.call("POST", "/v1/accounts", map[string]any{"email": "dan@example.org"}).must(t, 201)

		var trail listJSON[auditJSON]
		h.call("GET", "/v1/audit?actor=ALICE%40example.org&action=created", nil).must(t, 200).JSON(t, &trail)
		if len(trail.Items) != 1 || trail.Items[0].Actor != fmt.Sprintf("account:%d alice@example.org", aliceID) || !strings.Contains(trail.Items[0].Detail, "bob@example.org") {
			t.Fatalf("actor and action: %+v", trail.Items)
		}
		h.call("GET", "/v1/audit?action=created", nil).must(t, 200).JSON(t, &trail)
		if len(trail.Items) < 3 {
			t.Fatalf("action created: %+v", trail.Items)
		}
		r := h.call("GET", "/v1/audit?action=nuked", nil).must(t, 400)
		if !strings.Contains(string(r.Body), "password_set") || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("unknown action: %s %s", r.Header.Get("Content-Type"), r.Body)
		}
		h.call("GET", "/v1/audit?actor=x&actor=y", nil).must(t, 400)
		// Bytes PostgreSQL refuses are the caller's mistake, not a 500.
		h.call("GET", "/v1/audit?actor=al%FFice", nil).must(t, 400)
		h.call("GET", "/v1/audit?actor=a%00b", nil).must(t, 400)
	})
}
