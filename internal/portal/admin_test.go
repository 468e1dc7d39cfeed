package portal_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

const (
	adminEmail    = "root@example.org"
	adminPassword = "an admin's long password"
)

// signedInAdmin returns a browser signed in as an admin account, that
// account, and its session's form token.
func (e *env) signedInAdmin(t *testing.T) (*browser, *hookshot.Account, string) {
	t.Helper()
	a, err := e.accounts.Create(t.Context(), admin, service.AccountInput{Email: adminEmail, Password: adminPassword, Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	if p := b.signIn(t, adminEmail, adminPassword, "", nil); p.status != http.StatusSeeOther || !p.opensSession() {
		t.Fatalf("signing in as admin: status %d\n%s", p.status, p.body)
	}
	p := b.get(t, "/admin/accounts")
	if p.status != http.StatusOK {
		t.Fatalf("GET /admin/accounts as admin: status %d\n%s", p.status, p.body)
	}
	return b, a, csrfOf(t, p)
}

func (e *env) account(t *testing.T, email string) *hookshot.Account {
	t.Helper()
	a, err := e.accounts.ByEmail(t.Context(), admin, email)
	if err != nil {
		t.Fatalf("account %s: %v", email, err)
	}
	return a
}

func (e *env) tokens(t *testing.T, id int64) []*hookshot.Token {
	t.Helper()
	tokens, err := e.accounts.Tokens(t.Context(), admin, id)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func (e *env) auditLen(t *testing.T) int {
	t.Helper()
	entries, _, err := e.accounts.Audit(t.Context(), admin, service.AuditQuery{Limit: service.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func TestAdminHomeListsStudiesWithWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createHook(t, study, "secret-one-value")
	off := e.createHook(t, study, "secret-two-value")
	if _, err := e.svc.Webhooks.SetActive(t.Context(), admin, study, off.ID, false); err != nil {
		t.Fatal(err)
	}
	e.createHook(t, 4242, "secret-three-value")
	b, _, _ := e.signedInAdmin(t)
	p := b.get(t, "/")
	if p.status != http.StatusOK {
		t.Fatalf("GET /: status %d", p.status)
	}
	for _, want := range []string{`href="/studies/189/webhooks"`, "2 webhooks, 1 enabled", `href="/studies/4242/webhooks"`, "1 webhook, 1 enabled", `name="study"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the admin's home page lacks %q:\n%s", want, p.body)
		}
	}
	if strings.Index(p.body, "Study 189") > strings.Index(p.body, "Study 4242") {
		t.Error("studies are not listed by ascending id")
	}
	for _, link := range []string{`href="/admin/accounts"`, `href="/admin/audit"`} {
		if !strings.Contains(p.body, link) {
			t.Errorf("the admin's pages lack the link %s", link)
		}
	}
	// A manager's pages offer no admin link.
	m, _ := e.signedIn(t)
	if p := m.get(t, "/studies/189/webhooks"); strings.Contains(p.body, "/admin/") {
		t.Errorf("a manager's page links to the admin pages:\n%s", p.body)
	}
}

// Every admin page and action answers a non-admin with the service's 403
// page and changes nothing.
func TestAdminPagesRefuseNonAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, err := e.accounts.Create(t.Context(), admin, service.AccountInput{Email: "other@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.accounts.CreateToken(t.Context(), admin, other.ID, service.TokenInput{Name: "pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.auditLen(t)
	b, csrf := e.signedIn(t)
	id := other.ID
	for _, get := range []string{"/admin/accounts", "/admin/accounts/new", path("/admin/accounts/%d", id), path("/admin/accounts/%d/delete", id),
		"/admin/audit", "/admin/audit?study=x", "/admin/accounts/999", "/admin/accounts/abc"} {
		p := b.get(t, get)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Only administrators") || strings.Contains(p.body, "other@example.org") {
			t.Errorf("GET %s as a manager: status %d, want the 403 page\n%s", get, p.status, p.body)
		}
	}
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{"/admin/accounts", url.Values{"email": {"new@example.org"}, "admin": {"on"}}},
		{"/admin/accounts", url.Values{"email": {"new@example.org"}, "manage": {"x"}}},
		{path("/admin/accounts/%d/roles", id), url.Values{"admin": {"on"}}},
		{path("/admin/accounts/%d/password", id), url.Values{"password": {"a new long password"}}},
		{path("/admin/accounts/%d/tokens", id), url.Values{"name": {"mine"}, "expires": {"never"}}},
		{path("/admin/accounts/%d/tokens/%d/revoke", id, tok.ID), url.Values{}},
		{path("/admin/accounts/%d/delete", id), url.Values{}},
	} {
		post.form.Set("csrf", csrf)
		if p := b.post(t, post.path, post.form); p.status != http.StatusForbidden {
			t.Errorf("POST %s as a manager: status %d, want 403\n%s", post.path, p.status, p.body)
		}
	}
	if a := e.account(t, "other@example.org"); a.Admin || a.PasswordHash != "" {
		t.Errorf("the account was changed: %+v", a)
	}
	if tokens := e.tokens(t, id); len(tokens) != 1 || tokens[0].RevokedAt != nil {
		t.Errorf("tokens changed: %+v", tokens)
	}
	if after := e.auditLen(t); after != before {
		t.Errorf("the audit trail grew from %d to %d entries", before, after)
	}
	if _, err := e.accounts.ByEmail(t.Context(), admin, "new@example.org"); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Errorf("an account was created: %v", err)
	}
}

// Every admin form needs the session's token; without it nothing changes.
func TestAdminFormsNeedTheSessionToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _, csrf := e.signedInAdmin(t)
	other, err := e.accounts.Create(t.Context(), admin, service.AccountInput{Email: "other@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.accounts.CreateToken(t.Context(), admin, other.ID, service.TokenInput{Name: "pipeline"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.auditLen(t)
	id := other.ID
	posts := []struct {
		path string
		form url.Values
	}{
		{"/admin/accounts", url.Values{"email": {"new@example.org"}}},
		{path("/admin/accounts/%d/roles", id), url.Values{"admin": {"on"}}},
		{path("/admin/accounts/%d/password", id), url.Values{"password": {"a new long password"}}},
		{path("/admin/accounts/%d/tokens", id), url.Values{"name": {"mine"}, "expires": {"never"}}},
		{path("/admin/accounts/%d/tokens/%d/revoke", id, tok.ID), url.Values{}},
		{path("/admin/accounts/%d/delete", id), url.Values{}},
	}
	for _, post := range posts {
		for _, token := range []string{"", "wrong"} {
			form := url.Values{}
			for k, v := range post.form {
				form[k] = v
			}
			if token != "" {
				form.Set("csrf", token)
			}
			if p := b.post(t, post.path, form); p.status != http.StatusForbidden || !strings.Contains(p.body, "nothing was changed") {
				t.Errorf("POST %s with token %q: status %d, want 403\n%s", post.path, token, p.status, p.body)
			}
		}
		form := url.Values{"csrf": {csrf}}
		for k, v := range post.form {
			form[k] = v
		}
		if p := b.do(t, http.MethodPost, post.path, form, http.Header{"Sec-Fetch-Site": {"cross-site"}}); p.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: status %d, want 403", post.path, p.status)
		}
	}
	if a := e.account(t, "other@example.org"); a.Admin || a.PasswordHash != "" {
		t.Errorf("the account was changed: %+v", a)
	}
	if tokens := e.tokens(t, id); len(tokens) != 1 || tokens[0].RevokedAt != nil {
		t.Errorf("tokens changed: %+v", tokens)
	}
	if after := e.auditLen(t); after != before {
		t.Errorf("the audit trail grew from %d to %d entries", before, after)
	}
}

func TestCreateAccountInThePortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _, csrf := e.signedInAdmin(t)
	if p := b.get(t, "/admin/accounts/new"); p.status != http.StatusOK || !strings.Contains(p.body, `type="password"`) {
		t.Fatalf("GET /admin/accounts/new: status %d\n%s", p.status, p.body)
	}
	typed := "short pw"
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"bad email", url.Values{"email": {"not an email"}}, "email-error"},
		{"short password", url.Values{"email": {"carol@example.org"}, "password": {typed}}, "password-error"},
		{"study that is no number", url.Values{"email": {"carol@example.org"}, "manage": {"189, abc"}}, "manage-error"},
		{"study zero", url.Values{"email": {"carol@example.org"}, "publish": {"0"}}, "publish-error"},
	} {
		tc.form.Set("csrf", csrf)
		p := b.post(t, "/admin/accounts", tc.form)
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="`+tc.field+`"`) || !strings.Contains(p.body, "Nothing was saved") {
			t.Errorf("%s: status %d, want 422 with %s\n%s", tc.name, p.status, tc.field, p.body)
		}
		if strings.Contains(p.body, typed) {
			t.Errorf("%s: the typed password was put back into the page", tc.name)
		}
	}
	if _, err := e.accounts.ByEmail(t.Context(), admin, "carol@example.org"); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Fatalf("bad input created an account: %v", err)
	}

	pw := "carol's long password"
	p := b.post(t, "/admin/accounts", url.Values{"csrf": {csrf}, "email": {"Carol@Example.org"}, "password": {pw},
		"publish": {"1064 189"}, "manage": {"189"}})
	carol := e.account(t, "carol@example.org")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), path("/admin/accounts/%d?", carol.ID)) {
		t.Fatalf("create: status %d, Location %q", p.status, p.location())
	}
	if carol.Admin || carol.PublishAll || fmt.Sprint(carol.Publish) != "[189 1064]" || fmt.Sprint(carol.Manage) != "[189]" || carol.PasswordHash == "" {
		t.Errorf("created %+v", carol)
	}
	if _, ok, err := e.svc.Sessions.CheckPassword(t.Context(), "carol@example.org", pw); !ok || err != nil {
		t.Errorf("the new account's password does not sign in: %v, %v", ok, err)
	}
	page := b.get(t, p.location())
	if page.status != http.StatusOK || !strings.Contains(page.body, "The account was created.") || strings.Contains(page.body, pw) || strings.Contains(page.body, carol.PasswordHash) {
		t.Errorf("account page: status %d\n%s", page.status, page.body)
	}
	if list := b.get(t, "/admin/accounts"); !strings.Contains(list.body, "carol@example.org") || !strings.Contains(list.body, "manages webhooks of 189") {
		t.Errorf("the list lacks the new account:\n%s", list.body)
	}
	p = b.post(t, "/admin/accounts", url.Values{"csrf": {csrf}, "email": {"carol@example.org"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="email-error"`) {
		t.Errorf("taken email: status %d, want 409 with the email's error\n%s", p.status, p.body)
	}
}

func TestChangeRolesInThePortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, self, csrf := e.signedInAdmin(t)
	m := e.account(t, managerEmail)
	rolesPath := path("/admin/accounts/%d/roles", m.ID)

	p := b.post(t, rolesPath, url.Values{"csrf": {csrf}, "manage": {"189, x"}, "publish_all": {"on"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="manage-error"`) {
		t.Errorf("bad study: status %d, want 422\n%s", p.status, p.body)
	}
	if got := e.account(t, managerEmail); got.PublishAll {
		t.Errorf("a refused form changed the roles: %+v", got)
	}

	p = b.post(t, rolesPath, url.Values{"csrf": {csrf}, "manage": {"189, 190"}, "publish": {"7"}, "admin": {"on"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), path("/admin/accounts/%d?", m.ID)) {
		t.Fatalf("save roles: status %d, Location %q\n%s", p.status, p.location(), p.body)
	}
	got := e.account(t, managerEmail)
	if !got.Admin || fmt.Sprint(got.Manage) != "[189 190]" || fmt.Sprint(got.Publish) != "[7]" {
		t.Errorf("saved %+v", got)
	}
	if page := b.get(t, p.location()); !strings.Contains(page.body, `value="189, 190"`) || !strings.Contains(page.body, "roles were saved") {
		t.Errorf("the account page does not show the saved roles:\n%s", page.body)
	}
	// Taking the admin role back, as the service does, leaves the others.
	if p := b.post(t, rolesPath, url.Values{"csrf": {csrf}, "manage": {"189"}}); p.status != http.StatusSeeOther {
		t.Fatalf("status %d", p.status)
	}
	if got := e.account(t, managerEmail); got.Admin || len(got.Publish) != 0 {
		t.Errorf("saved %+v", got)
	}

	// An admin cannot take the admin role from their own account.
	p = b.post(t, path("/admin/accounts/%d/roles", self.ID), url.Values{"csrf": {csrf}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="admin-error"`) {
		t.Errorf("dropping one's own admin role: status %d, want 422\n%s", p.status, p.body)
	}
	if !e.account(t, adminEmail).Admin {
		t.Error("the admin lost the admin role")
	}
}

func TestSetPasswordInThePortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, self, csrf := e.signedInAdmin(t)
	m := e.account(t, managerEmail)
	managerBrowser, _ := e.signedIn(t)
	pwPath := path("/admin/accounts/%d/password", m.ID)

	page := b.get(t, path("/admin/accounts/%d", m.ID))
	if !regexp.MustCompile(`<input id="new-password" name="password" type="password" minlength="12"`).MatchString(page.body) {
		t.Errorf("the password form has no password input with the 12-character rule:\n%s", page.body)
	}
	for _, bad := range []string{"", "eleven char"} {
		p := b.post(t, pwPath, url.Values{"csrf": {csrf}, "password": {bad}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="new-password-error"`) || (bad != "" && strings.Contains(p.body, bad)) {
			t.Errorf("password %q: status %d, want 422\n%s", bad, p.status, p.body)
		}
	}
	if _, ok, _ := e.svc.Sessions.CheckPassword(t.Context(), managerEmail, managerPassword); !ok {
		t.Fatal("a refused password changed the stored one")
	}
	newPW := "the manager's new password"
	p := b.post(t, pwPath, url.Values{"csrf": {csrf}, "password": {newPW}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "notice=password-set") {
		t.Fatalf("set password: status %d, Location %q\n%s", p.status, p.location(), p.body)
	}
	if _, ok, _ := e.svc.Sessions.CheckPassword(t.Context(), managerEmail, newPW); !ok {
		t.Error("the new password does not sign in")
	}
	if page := b.get(t, p.location()); strings.Contains(page.body, newPW) {
		t.Error("the page shows the new password")
	}
	// The manager was signed out everywhere.
	if p := managerBrowser.get(t, "/studies/189/webhooks"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("the manager's session survived the new password: status %d", p.status)
	}
	// A new password of one's own signs one out too, and says so.
	p = b.post(t, path("/admin/accounts/%d/password", self.ID), url.Values{"csrf": {csrf}, "password": {"the admin's new password"}})
	if p.status != http.StatusSeeOther || p.location() != "/login?notice=own-password-set" {
		t.Errorf("own password: status %d, Location %q", p.status, p.location())
	}
}

func TestTokensAreShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _, csrf := e.signedInAdmin(t)
	m := e.account(t, managerEmail)
	accountPage := path("/admin/accounts/%d", m.ID)
	tokensPath := accountPage + "/tokens"

	for _, tc := range []struct{ name, expires, field string }{{"", "never", "token-name-error"}, {"ok", "forever", "token-expires-error"}} {
		p := b.post(t, tokensPath, url.Values{"csrf": {csrf}, "name": {tc.name}, "expires": {tc.expires}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="`+tc.field+`"`) || strings.Contains(p.body, service.TokenPrefix) {
			t.Errorf("name %q expires %q: status %d, want 422 with %s\n%s", tc.name, tc.expires, p.status, tc.field, p.body)
		}
	}
	if n := len(e.tokens(t, m.ID)); n != 0 {
		t.Fatalf("refused forms created %d tokens", n)
	}

	p := b.post(t, tokensPath, url.Values{"csrf": {csrf}, "name": {"upload pipeline"}, "expires": {"90d"}})
	secret := regexp.MustCompile(`id="new-token-value">(hst_[A-Za-z0-9_-]+)<`).FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || secret == nil || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token: status %d, Cache-Control %q\n%s", p.status, p.header.Get("Cache-Control"), p.body)
	}
	caller, err := e.accounts.Authenticate(t.Context(), secret[1])
	if err != nil || caller.Name != hookshot.AccountActor(m.ID, m.Email) {
		t.Fatalf("the shown token does not authenticate: %v, %v", caller, err)
	}
	tokens := e.tokens(t, m.ID)
	if len(tokens) != 1 || tokens[0].Name != "upload pipeline" || tokens[0].ExpiresAt == nil {
		t.Fatalf("tokens = %+v", tokens)
	}
	again := b.get(t, accountPage)
	if strings.Contains(again.body, secret[1]) || !strings.Contains(again.body, "upload pipeline") || !strings.Contains(again.body, "badge-active") {
		t.Errorf("the account page, opened again, shows the secret or not the token:\n%s", again.body)
	}

	revoke := path("%s/%d/revoke", tokensPath, tokens[0].ID)
	p = b.post(t, revoke, url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location(), "notice=token-revoked") {
		t.Fatalf("revoke: status %d, Location %q\n%s", p.status, p.location(), p.body)
	}
	if _, err := e.accounts.Authenticate(t.Context(), secret[1]); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
		t.Errorf("the revoked token still authenticates: %v", err)
	}
	after := b.get(t, p.location())
	if !strings.Contains(after.body, "badge-revoked") || strings.Contains(after.body, revoke) {
		t.Errorf("the page does not show the token revoked, or still offers to revoke it:\n%s", after.body)
	}
	// Another account's token is not found under this one.
	if p := b.post(t, path("/admin/accounts/%d/tokens/%d/revoke", e.account(t, adminEmail).ID, tokens[0].ID), url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Errorf("revoking through another account: status %d, want 404", p.status)
	}
}

func TestDeleteAccountInThePortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, self, csrf := e.signedInAdmin(t)
	m := e.account(t, managerEmail)
	del := path("/admin/accounts/%d/delete", m.ID)
	p := b.get(t, del)
	if p.status != http.StatusOK || !strings.Contains(p.body, `action="`+del+`"`) || !strings.Contains(p.body, managerEmail) {
		t.Fatalf("GET %s: status %d\n%s", del, p.status, p.body)
	}
	e.account(t, managerEmail)
	p = b.post(t, del, url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/admin/accounts?") {
		t.Fatalf("delete: status %d, Location %q", p.status, p.location())
	}
	if _, err := e.accounts.Get(t.Context(), admin, m.ID); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Errorf("the account is still there: %v", err)
	}
	if p := b.get(t, path("/admin/accounts/%d", m.ID)); p.status != http.StatusNotFound {
		t.Errorf("the deleted account's page: status %d, want 404", p.status)
	}
	// One's own account is not offered for deletion, and is refused.
	if p := b.get(t, path("/admin/accounts/%d", self.ID)); strings.Contains(p.body, "/delete") {
		t.Error("one's own page offers to delete it")
	}
	if p := b.post(t, path("/admin/accounts/%d/delete", self.ID), url.Values{"csrf": {csrf}}); p.status != http.StatusConflict {
		t.Errorf("deleting one's own account: status %d, want 409", p.status)
	}
	e.account(t, adminEmail)
}

func TestAuditPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, self, _ := e.signedInAdmin(t)
	asSelf := self.Principal()
	ctx := t.Context()
	hook, err := e.svc.Webhooks.Create(ctx, asSelf, 777, service.WebhookInput{URL: hookURL, Events: []string{"upload"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Webhooks.SetActive(ctx, asSelf, 777, hook.ID, false); err != nil {
		t.Fatal(err)
	}
	for i := range service.DefaultPageSize {
		if _, err := e.accounts.Create(ctx, asSelf, service.AccountInput{Email: "user" + strconv.Itoa(i) + "@example.org"}); err != nil {
			t.Fatal(err)
		}
	}
	rows := regexp.MustCompile(`<tr id="audit-\d+">`)

	p := b.get(t, "/admin/audit")
	if p.status != http.StatusOK || len(rows.FindAllString(p.body, -1)) != service.DefaultPageSize || !strings.Contains(p.body, "Older entries") {
		t.Fatalf("unfiltered: status %d, %d rows\n%s", p.status, len(rows.FindAllString(p.body, -1)), p.body)
	}
	older := regexp.MustCompile(`href="(/admin/audit\?cursor=\d+)">Older entries`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatalf("no link to older entries:\n%s", p.body)
	}
	p = b.get(t, strings.ReplaceAll(older[1], "&amp;", "&"))
	// The older page holds the webhook's two entries and the creation of
	// the admin's and the manager's accounts.
	if n := len(rows.FindAllString(p.body, -1)); p.status != http.StatusOK || n != 4 || !strings.Contains(p.body, "webhook "+strconv.FormatInt(hook.ID, 10)) {
		t.Errorf("older page: status %d, %d rows; want 4\n%s", p.status, n, p.body)
	}

	p = b.get(t, "/admin/audit?study=777&action=disabled&actor="+url.QueryEscape(adminEmail))
	if n := len(rows.FindAllString(p.body, -1)); p.status != http.StatusOK || n != 1 || !strings.Contains(p.body, `<option value="disabled" selected>`) || !strings.Contains(p.body, `value="777"`) {
		t.Errorf("study, action and actor: status %d, %d rows; want 1\n%s", p.status, n, p.body)
	}
	p = b.get(t, "/admin/audit?actor=test&action=created")
	if n := len(rows.FindAllString(p.body, -1)); n != 2 || !strings.Contains(p.body, "email "+managerEmail) || !strings.Contains(p.body, "email "+adminEmail) {
		t.Errorf("actor test: %d rows; want the two accounts it created\n%s", n, p.body)
	}
	p = b.get(t, "/admin/audit?actor=nobody")
	if !strings.Contains(p.body, `id="no-entries"`) || !strings.Contains(p.body, "No entries match") {
		t.Errorf("no match: %s", p.body)
	}
	for _, bad := range []string{"/admin/audit?study=abc", "/admin/audit?study=-3", "/admin/audit?action=nuked", "/admin/audit?cursor=zz"} {
		p := b.get(t, bad)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="filter-error"`) || rows.MatchString(p.body) {
			t.Errorf("GET %s: status %d, want 400 with the filter's error and no rows\n%s", bad, p.status, p.body)
		}
	}
}
