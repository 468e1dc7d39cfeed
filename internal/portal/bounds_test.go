package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A form over the portal's limit gets a page that says it is too large,
// not a refusal as an expired form; and nothing is stored.
func TestTooLargeFormsSaySo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	form := validForm(csrf)
	form.Set("url", hookURL+"?"+strings.Repeat("x", 70<<10))
	p := b.post(t, "/studies/189/webhooks", form)
	if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, "This form is larger than the 64 KiB the portal accepts, so nothing was changed.") ||
		!strings.Contains(p.body, "<html") {
		t.Fatalf("status %d, want 413 with a page that says the form is too large:\n%s", p.status, p.body)
	}
	if n := len(e.hooks(t, study)); n != 0 {
		t.Fatalf("%d webhooks were stored", n)
	}

	signIn := e.browser(t)
	token, _ := signIn.loginForm(t, "")
	p = signIn.post(t, "/login", url.Values{"csrf": {token}, "email": {managerEmail}, "password": {strings.Repeat("p", 20<<10)}})
	if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, "larger than the 16 KiB") {
		t.Fatalf("sign-in: status %d, want 413 saying the form is too large:\n%s", p.status, p.body)
	}
}

// Fields within the form's size but over their own limit are refused
// under the field, as any other mistake.
func TestFormFieldsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	form := validForm(csrf)
	form.Set("url", hookURL+"?"+strings.Repeat("x", 2100))
	form.Set("secret", strings.Repeat("s", 1025))
	p := b.post(t, "/studies/189/webhooks", form)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422\n%s", p.status, p.body)
	}
	assertFieldError(t, p.body, "url-error", `id="url"`)
	assertFieldError(t, p.body, "secret-error", `id="secret"`)
	if !strings.Contains(p.body, "at most 2048 bytes") || !strings.Contains(p.body, "at most 1024 bytes") {
		t.Fatalf("the page does not name the limits:\n%s", p.body)
	}
	if n := len(e.hooks(t, study)); n != 0 {
		t.Fatalf("%d webhooks were stored", n)
	}
}
