package portal_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestCatalogPage(t *testing.T) {
	e := newEnv(t)
	b, _ := e.signedIn(t)
	p := b.get(t, "/catalog")
	if p.status != http.StatusOK {
		t.Fatalf("GET /catalog: status %d", p.status)
	}
	for _, want := range []string{
		`id="type-upload"`, `id="type-raw_processing_complete"`, `id="type-data_retrieval_complete"`,
		`id="type-daily_statistics_complete"`, `id="type-cp2_daily_statistics_complete"`,
		"JSON Schema", "Example", "<code>uploadId</code>", "id: integer or string of digits",
		"&#34;firstEpochUTC&#34;: &#34;2016-06-14T20:46:00.0000000&#34;",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the catalog page lacks %q", want)
		}
	}
	// Signed out, it is sign-in first.
	if p := e.browser(t).get(t, "/catalog"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("signed out GET /catalog: %d to %q, want a redirect to sign in", p.status, p.location())
	}
}

var secretRe = regexp.MustCompile(`hst_[A-Za-z0-9_-]{43}`)

func TestTokensPage(t *testing.T) {
	e := newEnv(t)
	b, csrf := e.signedIn(t)

	// A bad name is shown next to its field, and creates nothing.
	p := b.post(t, "/tokens", url.Values{"csrf": {csrf}, "name": {" "}, "expires": {"720h"}, "study": {"189"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="name-error"`) || secretRe.MatchString(p.body) {
		t.Fatalf("blank name: status %d, want 422 with the name's error and no token\n%s", p.status, p.body)
	}

	p = b.post(t, "/tokens", url.Values{"csrf": {csrf}, "name": {"receiver CI"}, "expires": {"720h"}, "study": {"189"}})
	secret := secretRe.FindString(p.body)
	if p.status != http.StatusCreated || secret == "" {
		t.Fatalf("creating a token: status %d, want 201 showing the token\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, "all of yours") {
		t.Errorf("a token with every study ticked should follow the account (\"all of yours\")\n%s", p.body)
	}
	principal, err := e.accounts.Authenticate(t.Context(), secret)
	if err != nil || !principal.CanManage(189) || principal.CanManage(190) || principal.Admin || principal.CanPublish(189) {
		t.Fatalf("the new token authenticates as %+v (%v), want the manager of 189 and nothing more", principal, err)
	}

	// Shown once: the list names it but never shows the secret again.
	p = b.get(t, "/tokens")
	if p.status != http.StatusOK || !strings.Contains(p.body, "receiver CI") || strings.Contains(p.body, secret) || secretRe.MatchString(p.body) {
		t.Fatalf("GET /tokens: status %d; want the token listed without its secret\n%s", p.status, p.body)
	}
	id := regexp.MustCompile(`action="/tokens/(\d+)/revoke"`).FindStringSubmatch(p.body)
	if id == nil {
		t.Fatalf("no revoke form on the tokens page\n%s", p.body)
	}
	p = b.post(t, "/tokens/"+id[1]+"/revoke", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || p.location() != "/tokens?notice=token-revoked" {
		t.Fatalf("revoking: %d to %q", p.status, p.location())
	}
	if _, err := e.accounts.Authenticate(t.Context(), secret); err == nil {
		t.Error("a revoked token still authenticates")
	}
	// No study ticked: nothing is created.
	p = b.post(t, "/tokens", url.Values{"csrf": {csrf}, "name": {"none"}, "expires": {"720h"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="study-error"`) || secretRe.MatchString(p.body) {
		t.Errorf("no study ticked: status %d, want 422 with the studies' error\n%s", p.status, p.body)
	}
	// Another account's token is not found, and the form needs its token.
	if p := b.post(t, "/tokens/999/revoke", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Errorf("revoking token 999: status %d, want 404", p.status)
	}
	if p := b.post(t, "/tokens", url.Values{"name": {"x"}, "expires": {"never"}}); p.status != http.StatusForbidden {
		t.Errorf("creating without the form token: status %d, want 403", p.status)
	}
}

// A webhook that has not passed validation gets no test events: the page
// says so instead of offering the control, and a forged post is refused.
func TestTestEventNeedsAValidatedWebhook(t *testing.T) {
	e := newEnv(t)
	w := e.createHook(t, 189, "s3cret-s3cret")
	b, csrf := e.signedIn(t)
	path := fmt.Sprintf("/studies/189/webhooks/%d", w.ID)
	p := b.get(t, path)
	if !strings.Contains(p.body, "Send test event") || !strings.Contains(p.body, "gets test events once it passes validation") || strings.Contains(p.body, `action="`+path+`/test"`) {
		t.Fatalf("Details of a pending webhook: want the test event section without its form\n%s", p.body)
	}
	p = b.post(t, path+"/test", url.Values{"csrf": {csrf}, "type": {"upload"}, "status": {"error"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "validate it first") {
		t.Fatalf("test event to a pending webhook: status %d, want 409 saying to validate first\n%s", p.status, p.body)
	}
}
