package portal_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/internal/portal"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/internal/sqlite"
)

const (
	managerEmail    = "manager@example.org"
	managerPassword = "a long enough password"
	study           = 189
	otherStudy      = 190
	hookURL         = "https://receiver.example/hook"
)

var admin = &hookshot.Principal{Name: "test", Admin: true}

// noNotifier stands in for the delivery engine: these tests only look at
// what is stored, so validation deliveries may stay queued.
type noNotifier struct{}

func (noNotifier) Notify() {}

// env is one portal over its own database. Each test gets its own, so that
// the in-memory sign-in limiter of one test cannot refuse another's.
type env struct {
	svc      portal.Services
	accounts *service.Accounts
	box      *credential.Box
	srv      *httptest.Server
	logs     *syncBuffer // what the portal logged
}

// syncBuffer is a bytes.Buffer that handlers may write from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, portal.Options{})
}

func newEnvWith(t *testing.T, opts portal.Options) *env {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key := make([]byte, credential.KeySize)
	_, _ = rand.Read(key)
	box, err := credential.New(key)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.System{}
	svc := portal.Services{
		Webhooks: service.NewWebhooks(store, cat, box, noNotifier{}, clk, service.WebhooksConfig{AllowHTTP: false}),
		Events:   service.NewEvents(store, cat, noNotifier{}, clk, service.EventsConfig{Schedule: []time.Duration{time.Minute}}),
		Sessions: service.NewSessions(store, clk),
		Accounts: service.NewAccounts(store, clk),
	}
	accounts := svc.Accounts
	if _, err := accounts.Create(ctx, admin, service.AccountInput{Email: managerEmail, Password: managerPassword, Manage: []int64{study}}); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	site, err := portal.New(svc, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	return &env{svc: svc, accounts: accounts, box: box, srv: srv, logs: logs}
}

// createHook stores a webhook behind the portal's back, as the API would.
func (e *env) createHook(t *testing.T, studyID int64, secret string) *hookshot.Webhook {
	t.Helper()
	w, err := e.svc.Webhooks.Create(t.Context(), admin, studyID, service.WebhookInput{
		URL:    hookURL,
		Auth:   &service.AuthInput{Type: hookshot.AuthHMAC, Secret: secret},
		Events: []string{"upload"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) hook(t *testing.T, studyID, id int64) *hookshot.Webhook {
	t.Helper()
	w, err := e.svc.Webhooks.Get(t.Context(), admin, studyID, id)
	if err != nil {
		t.Fatalf("webhook %d of study %d: %v", id, studyID, err)
	}
	return w
}

func (e *env) hooks(t *testing.T, studyID int64) []*hookshot.Webhook {
	t.Helper()
	list, err := e.svc.Webhooks.List(t.Context(), admin, studyID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (e *env) storedSecret(t *testing.T, w *hookshot.Webhook) string {
	t.Helper()
	c, err := e.box.Open(w.SealedCredentials)
	if err != nil {
		t.Fatal(err)
	}
	return c.Secret
}

// browser keeps cookies like a browser but does not follow redirects, so
// that each test sees where the portal sends it. It sends requests through
// the transport itself rather than an http.Client, which refuses a
// response whose Location it cannot parse: a test should see that
// Location too.
type browser struct {
	e   *env
	jar http.CookieJar // nil for a client that keeps no cookies
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{e: e, jar: jar}
}

type page struct {
	status  int
	header  http.Header
	cookies []*http.Cookie
	body    string
}

func (p *page) location() string { return p.header.Get("Location") }

func (p *page) cookie(name string) *http.Cookie {
	for _, c := range p.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// opensSession reports whether the answer sets a session cookie, as
// opposed to none or one that removes it.
func (p *page) opensSession() bool {
	c := p.cookie("hookshot_session")
	return c != nil && c.Value != "" && c.MaxAge >= 0
}

// do sends a request; a Cookie in header goes along with the jar's.
func (b *browser) do(t *testing.T, method, path string, form url.Values, header http.Header) *page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if b.jar != nil {
		for _, c := range b.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	resp, err := b.e.srv.Client().Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b.jar != nil {
		b.jar.SetCookies(req.URL, resp.Cookies())
	}
	return &page{status: resp.StatusCode, header: resp.Header, cookies: resp.Cookies(), body: string(raw)}
}

func (b *browser) get(t *testing.T, path string) *page {
	t.Helper()
	return b.do(t, http.MethodGet, path, nil, nil)
}

func (b *browser) post(t *testing.T, path string, form url.Values) *page {
	t.Helper()
	return b.do(t, http.MethodPost, path, form, nil)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func csrfOf(t *testing.T, p *page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil || m[1] == "" {
		t.Fatalf("no csrf token in the page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// loginForm opens the sign-in page, which sets the hookshot_login cookie,
// and returns the form's token.
func (b *browser) loginForm(t *testing.T, next string) (string, *page) {
	t.Helper()
	path := "/login"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	p := b.get(t, path)
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, p.status)
	}
	return csrfOf(t, p), p
}

// signIn fills in and sends the sign-in form; header goes on the POST only.
func (b *browser) signIn(t *testing.T, email, pw, next string, header http.Header) *page {
	t.Helper()
	token, _ := b.loginForm(t, "")
	form := url.Values{"csrf": {token}, "email": {email}, "password": {pw}, "next": {next}}
	return b.do(t, http.MethodPost, "/login", form, header)
}

// signedIn returns a browser signed in as the manager of study 189 and its
// session's form token.
func (e *env) signedIn(t *testing.T) (*browser, string) {
	t.Helper()
	b := e.browser(t)
	if p := b.signIn(t, managerEmail, managerPassword, "", nil); p.status != http.StatusSeeOther || !p.opensSession() {
		t.Fatalf("signing in: status %d, cookies %v\n%s", p.status, p.cookies, p.body)
	}
	p := b.get(t, "/studies/189/webhooks")
	if p.status != http.StatusOK {
		t.Fatalf("GET /studies/189/webhooks after signing in: status %d", p.status)
	}
	return b, csrfOf(t, p)
}

// validForm is a New webhook form that the service accepts.
func validForm(csrf string) url.Values {
	return url.Values{
		"csrf":            {csrf},
		"url":             {hookURL},
		"auth_type":       {"hmac"},
		"secret":          {"s3cret-hmac-value-123"},
		"events":          {"upload"},
		"upload.statuses": {"completed", "error"},
		"active":          {"on"},
	}
}

// editForm is an Edit form for a webhook made by createHook, as the
// browser sends it when nothing was touched.
func editForm(csrf string) url.Values {
	return url.Values{
		"csrf":      {csrf},
		"url":       {hookURL},
		"auth_type": {"hmac"},
		"secret":    {""},
		"events":    {"upload"},
		"active":    {"on"},
	}
}

// assertFieldError checks that the error errorID is shown inside the
// container of the field marked by fieldMarker (its input's id attribute
// or its legend), and that an input points screen readers at it.
func assertFieldError(t *testing.T, body, errorID, fieldMarker string) {
	t.Helper()
	errAttr := `id="` + errorID + `"`
	ei := strings.Index(body, errAttr)
	if ei < 0 {
		t.Errorf("no %s in the page", errAttr)
		return
	}
	if strings.Count(body, errAttr) != 1 {
		t.Errorf("%s appears %d times", errAttr, strings.Count(body, errAttr))
	}
	si := strings.LastIndex(body[:ei], `class="field`)
	if si < 0 {
		t.Errorf("%s is in no field container", errAttr)
		return
	}
	container := body[si:ei]
	// container starts inside the container's own opening tag, so more
	// closing tags than opening ones means it has closed.
	depth := strings.Count(container, "<div") + strings.Count(container, "<fieldset") -
		strings.Count(container, "</div>") - strings.Count(container, "</fieldset>")
	if depth < 0 {
		t.Errorf("%s comes after its field's container has closed:\n%s", errAttr, container)
	}
	if !strings.Contains(container, fieldMarker) {
		t.Errorf("%s is not in the container of %s; its container starts:\n%s", errAttr, fieldMarker, container)
	}
	if open, _, _ := strings.Cut(container, ">"); !strings.Contains(open, "has-error") {
		t.Errorf("the container of %s is not marked has-error: %s", fieldMarker, open)
	}
	if !strings.HasPrefix(fieldMarker, "id=") {
		return
	}
	mi := strings.Index(container, fieldMarker)
	ti := strings.LastIndex(container[:max(mi, 0)], "<input")
	if mi < 0 || ti < 0 {
		t.Errorf("no input %s before %s", fieldMarker, errAttr)
		return
	}
	tag, _, _ := strings.Cut(container[ti:], ">")
	if !regexp.MustCompile(`aria-describedby="[^"]*\b` + regexp.QuoteMeta(errorID) + `\b`).MatchString(tag) {
		t.Errorf("the input %s does not point at %s: %s", fieldMarker, errorID, tag)
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name       string
		password   string
		header     http.Header
		wantStatus int
		wantSecure bool
	}{
		{name: "wrong password", password: "not the password at all", wantStatus: http.StatusUnauthorized},
		{name: "plain HTTP", password: managerPassword, wantStatus: http.StatusSeeOther},
		{name: "behind an HTTPS proxy", password: managerPassword, header: http.Header{"X-Forwarded-Proto": {"https"}}, wantStatus: http.StatusSeeOther, wantSecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.browser(t).signIn(t, managerEmail, tt.password, "", tt.header)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.wantStatus, p.body)
			}
			if tt.wantStatus != http.StatusSeeOther {
				if !strings.Contains(p.body, "The email or the password is not right.") {
					t.Errorf("the page does not say the sign-in failed:\n%s", p.body)
				}
				if p.opensSession() {
					t.Errorf("a failed sign-in set a session cookie: %v", p.cookie("hookshot_session"))
				}
				return
			}
			if got := p.location(); got != "/" {
				t.Errorf("Location %q, want /", got)
			}
			c := p.cookie("hookshot_session")
			if c == nil || !strings.HasPrefix(c.Value, service.SessionPrefix) {
				t.Fatalf("no session cookie: %v", p.cookies)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tt.wantSecure {
				t.Errorf("session cookie HttpOnly=%t SameSite=%v Path=%q Secure=%t; want HttpOnly, Lax, /, Secure=%t",
					c.HttpOnly, c.SameSite, c.Path, c.Secure, tt.wantSecure)
			}
			if c.MaxAge <= 0 || c.MaxAge > int(service.SessionTTL.Seconds()) {
				t.Errorf("session cookie Max-Age %d, want at most the session's %v", c.MaxAge, service.SessionTTL)
			}
		})
	}
}

// People paste their password into the email field; a refused sign-in
// must not write what was typed there to the log.
func TestRefusedSignInDoesNotLogTheTypedEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	typed := "correct-horse-battery-staple@"
	p := e.browser(t).signIn(t, typed, "whatever it is", "", nil)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401\n%s", p.status, p.body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "sign-in refused") {
		t.Fatalf("no log line for the refused sign-in:\n%s", logs)
	}
	if strings.Contains(logs, "correct-horse-battery-staple") {
		t.Errorf("the log holds what was typed as the email:\n%s", logs)
	}
}

func TestSignInNeedsTheFormToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A token from another browser's form: valid, but not this browser's.
	foreign, _ := e.browser(t).loginForm(t, "")
	tests := []struct {
		name string
		// openForm makes the browser open the sign-in page first, which
		// gives it a hookshot_login cookie of its own.
		openForm bool
		csrf     string // "" sends no csrf field
		header   http.Header
	}{
		{name: "no login cookie", csrf: foreign},
		// Empty equals empty: a comparison that forgets this lets in a
		// form with neither.
		{name: "empty cookie, no token", header: http.Header{"Cookie": {"hookshot_login="}}},
		{name: "wrong token", openForm: true, csrf: "wrong"},
		{name: "no token", openForm: true},
		{name: "another form's token", openForm: true, csrf: foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			if tt.openForm {
				b.loginForm(t, "")
			}
			form := url.Values{"email": {managerEmail}, "password": {managerPassword}}
			if tt.csrf != "" {
				form.Set("csrf", tt.csrf)
			}
			p := b.do(t, http.MethodPost, "/login", form, tt.header)
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", p.status, p.body)
			}
			if p.opensSession() {
				t.Errorf("a refused sign-in set a session cookie: %v", p.cookie("hookshot_session"))
			}
			if got := b.get(t, "/studies/189/webhooks"); got.status != http.StatusSeeOther {
				t.Errorf("after a refused sign-in the study page answered %d, want 303 to /login", got.status)
			}
		})
	}
}

func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		if p := e.browser(t).signIn(t, managerEmail, "not the password at all", "", nil); p.status != http.StatusUnauthorized {
			t.Fatalf("wrong attempt %d: status %d, want 401", i+1, p.status)
		}
	}
	// The limit is on the email, however it is spelt, not on the password.
	for _, email := range []string{managerEmail, " MANAGER@Example.org "} {
		p := e.browser(t).signIn(t, email, managerPassword, "", nil)
		if p.status != http.StatusTooManyRequests {
			t.Fatalf("%q with the right password after 5 wrong ones: status %d, want 429", email, p.status)
		}
		if !strings.Contains(p.body, "Too many sign-in attempts") {
			t.Errorf("the page does not say why:\n%s", p.body)
		}
		if p.header.Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
		if p.opensSession() {
			t.Errorf("a limited sign-in set a session cookie: %v", p.cookie("hookshot_session"))
		}
	}
}

// Only failures use up the allowance: signing in again and again, from
// several devices say, is never refused.
func TestSignInSuccessesDoNotCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 8 {
		if p := e.browser(t).signIn(t, managerEmail, managerPassword, "", nil); p.status != http.StatusSeeOther || !p.opensSession() {
			t.Fatalf("sign-in %d: status %d, want 303 with a session", i+1, p.status)
		}
	}
}

// The per-address limit counts the client, not a proxy in front of it:
// X-Forwarded-For is believed from trusted proxies only.
func TestSignInLimitPerAddress(t *testing.T) {
	t.Parallel()
	forwarded := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip + ", 127.0.0.1"}} }
	// guess spends one wrong attempt on a fresh email, so that only the
	// address limit can refuse it.
	guess := func(e *env, n int, header http.Header) int {
		return e.browser(t).signIn(t, "nobody"+strconv.Itoa(n)+"@example.org", "not the password at all", "", header).status
	}
	const perAddress = 20
	// untilLimited guesses until refused. The allowance refills one
	// attempt every 3 s while the guesses (each a real password check)
	// go on, so a few more than perAddress may pass, never fewer.
	untilLimited := func(e *env, header func(i int) http.Header) {
		t.Helper()
		for i := range perAddress + 15 {
			status := guess(e, i, header(i))
			switch {
			case status == http.StatusTooManyRequests && i < perAddress:
				t.Fatalf("guess %d was refused; the first %d must be checked", i+1, perAddress)
			case status == http.StatusTooManyRequests:
				return
			case status != http.StatusUnauthorized:
				t.Fatalf("guess %d: status %d, want 401 or 429", i+1, status)
			}
		}
		t.Fatalf("%d guesses from one address were never refused", perAddress+15)
	}

	behindProxy := newEnvWith(t, portal.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	untilLimited(behindProxy, func(int) http.Header { return forwarded("203.0.113.7") })
	if p := behindProxy.browser(t).signIn(t, managerEmail, managerPassword, "", forwarded("198.51.100.20")); p.status != http.StatusSeeOther {
		t.Fatalf("another client behind the same proxy: status %d, want 303", p.status)
	}

	// Without a trusted proxy the header is the caller's word, and
	// changing it at every guess does not escape the limit.
	direct := newEnv(t)
	untilLimited(direct, func(i int) http.Header { return forwarded("203.0.113." + strconv.Itoa(i)) })
}

func TestSignInRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Every case signs in, and one email gets 5 attempts before the
	// limiter steps in: the cases take turns between two accounts.
	const second = "second@example.org"
	if _, err := e.accounts.Create(t.Context(), admin, service.AccountInput{Email: second, Password: managerPassword, Manage: []int64{study}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ next, want string }{
		{"//evil.example/x", "/"},
		{"https://evil.example/", "/"},
		{`/\evil.example`, "/"},
		// Browsers drop tabs and newlines from URLs, leaving //evil.example.
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		// Clean paths may not turn this into //evil.example; where it
		// lands on this site is net/http's business.
		{"/.//evil.example", ""},
		{"/studies/189/webhooks", "/studies/189/webhooks"},
	}
	for i, tt := range tests {
		email := managerEmail
		if i%2 == 1 {
			email = second
		}
		t.Run(strconv.Quote(tt.next), func(t *testing.T) {
			b := e.browser(t)
			_, form := b.loginForm(t, tt.next)
			if tt.want == "/" && strings.Contains(form.body, "evil.example") {
				t.Errorf("the sign-in page carries the foreign next along:\n%s", form.body)
			}
			p := b.signIn(t, email, managerPassword, tt.next, nil)
			if p.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303\n%s", p.status, p.body)
			}
			got, err := url.Parse(p.location())
			if err != nil {
				t.Fatalf("Location %q: %v", p.location(), err)
			}
			site, _ := url.Parse(e.srv.URL)
			if landed := site.ResolveReference(got); landed.Host != site.Host {
				t.Errorf("Location %q leaves the site for %s", p.location(), landed.Host)
			}
			if tt.want != "" && p.location() != tt.want {
				t.Errorf("Location %q, want %q", p.location(), tt.want)
			}
		})
	}
}

func TestSignedOutIsSentToSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.createHook(t, study, "stored-secret-value")
	b := e.browser(t)

	p := b.get(t, "/studies/189/webhooks")
	if p.status != http.StatusSeeOther {
		t.Fatalf("GET: status %d, want 303", p.status)
	}
	loc, err := url.Parse(p.location())
	if err != nil || loc.Path != "/login" || loc.Query().Get("next") != "/studies/189/webhooks" {
		t.Errorf("GET: Location %q, want /login?next=/studies/189/webhooks", p.location())
	}

	id := strconv.FormatInt(w.ID, 10)
	for _, path := range []string{"/studies/189/webhooks", "/studies/189/webhooks/" + id + "/disable", "/studies/189/webhooks/" + id + "/delete"} {
		p := b.post(t, path, validForm("whatever"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
			t.Errorf("POST %s: status %d, Location %q; want 303 to /login", path, p.status, p.location())
		}
	}
	if list := e.hooks(t, study); len(list) != 1 || !list[0].Active {
		t.Errorf("signed-out POSTs changed the study's webhooks: %d of them, first active=%t", len(list), len(list) > 0 && list[0].Active)
	}
}

func TestFormsNeedTheSessionToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	tests := []struct {
		name   string
		csrf   string
		header http.Header
	}{
		{name: "no token", csrf: ""},
		{name: "wrong token", csrf: "wrong"},
		{name: "cross-site", csrf: csrf, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{name: "foreign origin", csrf: csrf, header: http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := validForm(tt.csrf)
			if tt.csrf == "" {
				form.Del("csrf")
			}
			p := b.do(t, http.MethodPost, "/studies/189/webhooks", form, tt.header)
			if p.status != http.StatusForbidden {
				t.Errorf("status %d, want 403\n%s", p.status, p.body)
			}
			if n := len(e.hooks(t, study)); n != 0 {
				t.Errorf("%d webhooks were created", n)
			}
		})
	}
	// The same form, with the token and from the portal itself, goes
	// through: the refusals above were not about the form.
	if p := b.post(t, "/studies/189/webhooks", validForm(csrf)); p.status != http.StatusSeeOther || len(e.hooks(t, study)) != 1 {
		t.Fatalf("with the token: status %d, want 303 and one webhook\n%s", p.status, p.body)
	}
}

func TestOtherStudyIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const otherURL = "https://other-study.example/private-receiver"
	w, err := e.svc.Webhooks.Create(t.Context(), admin, otherStudy, service.WebhookInput{URL: otherURL, Events: []string{"upload"}})
	if err != nil {
		t.Fatal(err)
	}
	b, csrf := e.signedIn(t)
	id := strconv.FormatInt(w.ID, 10)
	tests := []struct{ method, path string }{
		{http.MethodGet, "/studies/190/webhooks"},
		{http.MethodGet, "/studies/190/webhooks/new"},
		{http.MethodPost, "/studies/190/webhooks"},
		{http.MethodGet, "/studies/190/webhooks/" + id},
		{http.MethodGet, "/studies/190/webhooks/" + id + "/edit"},
		{http.MethodGet, "/studies/189/webhooks/" + id},
		{http.MethodGet, "/studies/189/webhooks/" + id + "/edit"},
		{http.MethodGet, "/studies/189/webhooks/" + id + "/delete"},
		{http.MethodGet, "/studies/189/webhooks/" + id + "/state"},
		{http.MethodPost, "/studies/190/webhooks/" + id + "/disable"},
		{http.MethodPost, "/studies/189/webhooks/" + id + "/disable"},
		{http.MethodPost, "/studies/189/webhooks/" + id + "/edit"},
		{http.MethodPost, "/studies/190/webhooks/" + id + "/delete"},
		{http.MethodPost, "/studies/189/webhooks/" + id + "/delete"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var form url.Values
			if tt.method == http.MethodPost {
				form = editForm(csrf)
				form.Set("url", "https://hijacked.example/")
			}
			p := b.do(t, tt.method, tt.path, form, nil)
			if p.status != http.StatusNotFound {
				t.Errorf("status %d, want 404", p.status)
			}
			if strings.Contains(p.body, "other-study.example") {
				t.Errorf("the answer shows the other study's webhook URL:\n%s", p.body)
			}
		})
	}
	got := e.hook(t, otherStudy, w.ID)
	if !got.Active || got.URL != otherURL {
		t.Errorf("the other study's webhook changed: active=%t url=%q", got.Active, got.URL)
	}
}

func TestCreateWithBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	tests := []struct {
		name string
		form url.Values
		// errors maps each error element's id to its field's marker.
		errors map[string]string
		absent []string
	}{
		{
			name: "insecure URL, basic without credentials, no events",
			form: url.Values{"csrf": {csrf}, "url": {"http://insecure.example/x"}, "auth_type": {"basic"}, "active": {"on"}},
			errors: map[string]string{
				"url-error":      `id="url"`,
				"username-error": `id="username"`,
				"password-error": `id="password"`,
				"events-error":   `<legend>Events</legend>`,
			},
		},
		{
			// A secret typed into a form that comes back must not come
			// back with it.
			name:   "secret typed, no events",
			form:   url.Values{"csrf": {csrf}, "url": {hookURL}, "auth_type": {"hmac"}, "secret": {"typed-secret-never-echoed"}, "active": {"on"}},
			errors: map[string]string{"events-error": `<legend>Events</legend>`},
			absent: []string{"typed-secret-never-echoed", `id="url-error"`, `id="secret-error"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post(t, "/studies/189/webhooks", tt.form)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, "Nothing was saved.") {
				t.Error(`the page does not say "Nothing was saved."`)
			}
			for errorID, marker := range tt.errors {
				assertFieldError(t, p.body, errorID, marker)
			}
			if n := strings.Count(p.body, `class="error"`); n != len(tt.errors) {
				t.Errorf("%d error messages on the page, want %d", n, len(tt.errors))
			}
			for _, s := range tt.absent {
				if strings.Contains(p.body, s) {
					t.Errorf("the page contains %s", s)
				}
			}
			if !strings.Contains(p.body, `value="`+tt.form.Get("url")+`"`) {
				t.Error("the URL typed in is not kept in the form")
			}
			if n := len(e.hooks(t, study)); n != 0 {
				t.Errorf("%d webhooks were stored", n)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	const secret = "s3cret-hmac-value-123"

	p := b.post(t, "/studies/189/webhooks", validForm(csrf))
	if p.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303\n%s", p.status, p.body)
	}
	loc, err := url.Parse(p.location())
	if err != nil {
		t.Fatal(err)
	}
	idText, ok := strings.CutPrefix(loc.Path, "/studies/189/webhooks/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		t.Fatalf("Location %q, want /studies/189/webhooks/{id}", p.location())
	}

	w := e.hook(t, study, id)
	if w.URL != hookURL || w.Auth.Type != hookshot.AuthHMAC || !w.Active {
		t.Errorf("stored url=%q auth=%q active=%t", w.URL, w.Auth.Type, w.Active)
	}
	if !slices.Equal(w.Events, []string{"upload"}) {
		t.Errorf("events %v, want [upload]", w.Events)
	}
	if got := w.EventOptions["upload"].Statuses; !slices.Equal(got, []string{"completed", "error"}) {
		t.Errorf("upload statuses %v, want [completed error]", got)
	}
	if got := e.storedSecret(t, w); got != secret {
		t.Errorf("stored secret %q, want the one typed in", got)
	}

	for _, path := range []string{p.location(), loc.Path + "/edit", "/studies/189/webhooks"} {
		page := b.get(t, path)
		if page.status != http.StatusOK {
			t.Errorf("GET %s: status %d", path, page.status)
		}
		if strings.Contains(page.body, secret) {
			t.Errorf("GET %s shows the secret", path)
		}
	}
}

func TestEditCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	const oldSecret = "the-stored-secret-0001"
	tests := []struct {
		name       string
		change     func(url.Values)
		wantStatus int
		wantSecret string
		// wantError is the id of the error element and its field's marker.
		wantError, marker string
		revalidate        bool
	}{
		{
			name:       "box unticked, secret empty",
			change:     func(url.Values) {},
			wantStatus: http.StatusSeeOther, wantSecret: oldSecret,
		},
		{
			name:       "box unticked, secret typed",
			change:     func(f url.Values) { f.Set("secret", "typed-but-not-meant") },
			wantStatus: http.StatusSeeOther, wantSecret: oldSecret,
		},
		{
			name:       "box ticked, secret empty",
			change:     func(f url.Values) { f.Set("change_credentials", "on") },
			wantStatus: http.StatusUnprocessableEntity, wantSecret: oldSecret,
			wantError: "secret-error", marker: `id="secret"`,
		},
		{
			name: "box ticked, new secret",
			change: func(f url.Values) {
				f.Set("change_credentials", "on")
				f.Set("secret", "the-new-secret-0002")
			},
			wantStatus: http.StatusSeeOther, wantSecret: "the-new-secret-0002", revalidate: true,
		},
		{
			name: "new type, box unticked",
			change: func(f url.Values) {
				f.Set("auth_type", "basic")
				f.Set("username", "someone")
				f.Set("password", "a-basic-password")
			},
			wantStatus: http.StatusUnprocessableEntity, wantSecret: oldSecret,
			wantError: "cc-error", marker: `id="change_credentials"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.createHook(t, study, oldSecret)
			form := editForm(csrf)
			tt.change(form)
			path := "/studies/189/webhooks/" + strconv.FormatInt(before.ID, 10) + "/edit"
			p := b.post(t, path, form)
			if p.status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.wantStatus, p.body)
			}
			after := e.hook(t, study, before.ID)
			if got := e.storedSecret(t, after); got != tt.wantSecret {
				t.Errorf("stored secret %q, want %q", got, tt.wantSecret)
			}
			if strings.Contains(p.body, oldSecret) || (form.Get("secret") != "" && strings.Contains(p.body, form.Get("secret"))) {
				t.Error("the answer shows a secret")
			}
			if tt.wantError != "" {
				assertFieldError(t, p.body, tt.wantError, tt.marker)
				if n := strings.Count(p.body, `class="error"`); n != 1 {
					t.Errorf("%d error messages on the page, want 1", n)
				}
				if after.Auth != before.Auth || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("a refused edit changed the webhook: auth %+v, updated %v (was %+v, %v)", after.Auth, after.UpdatedAt, before.Auth, before.UpdatedAt)
				}
			}
			newValidation := after.Validation.DeliveryID != before.Validation.DeliveryID
			if newValidation != tt.revalidate {
				t.Errorf("validation delivery %q → %q; want a new one: %t", before.Validation.DeliveryID, after.Validation.DeliveryID, tt.revalidate)
			}
			if tt.revalidate {
				if after.Validation.Status != hookshot.ValidationPending {
					t.Errorf("validation %q, want pending", after.Validation.Status)
				}
				if _, _, err := e.svc.Events.Delivery(t.Context(), admin, study, before.ID, after.Validation.DeliveryID); err != nil {
					t.Errorf("the new validation delivery is not stored: %v", err)
				}
			}
		})
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	p := b.signIn(t, managerEmail, managerPassword, "", nil)
	old := p.cookie("hookshot_session")
	if p.status != http.StatusSeeOther || old == nil {
		t.Fatalf("signing in: status %d, cookies %v", p.status, p.cookies)
	}
	csrf := csrfOf(t, b.get(t, "/studies/189/webhooks"))

	p = b.post(t, "/logout", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || p.location() != "/login?notice=signed-out" {
		t.Fatalf("sign-out: status %d, Location %q; want 303 to /login?notice=signed-out", p.status, p.location())
	}
	if c := p.cookie("hookshot_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out does not remove the cookie: %v", c)
	}

	// Replay the old cookie from a client that never saw the sign-out.
	replay := e.browser(t)
	replay.jar = nil
	cookie := http.Header{"Cookie": {"hookshot_session=" + old.Value}}
	p = replay.do(t, http.MethodGet, "/studies/189/webhooks", nil, cookie)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("old cookie: status %d, Location %q; want 303 to /login", p.status, p.location())
	}
	p = replay.do(t, http.MethodPost, "/studies/189/webhooks", validForm(csrf), cookie)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("old cookie and token, POST: status %d, Location %q; want 303 to /login", p.status, p.location())
	}
	if n := len(e.hooks(t, study)); n != 0 {
		t.Errorf("a signed-out session created %d webhooks", n)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, csrf := e.signedIn(t)
	w := e.createHook(t, study, "stored-secret-value")
	path := "/studies/189/webhooks/" + strconv.FormatInt(w.ID, 10) + "/delete"

	p := b.get(t, path)
	if p.status != http.StatusOK {
		t.Fatalf("GET: status %d", p.status)
	}
	_, form, _ := strings.Cut(p.body, `<form method="post" action="`+path+`"`)
	form, _, _ = strings.Cut(form, "</form>")
	if !regexp.MustCompile(`<button[^>]*>Delete webhook</button>`).MatchString(form) || !strings.Contains(form, `name="csrf" value="`+csrf+`"`) {
		t.Errorf("no form with a Delete webhook button and the token posting to %s:\n%s", path, p.body)
	}
	e.hook(t, study, w.ID)

	if p := b.post(t, path, url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("POST without token: status %d, want 403", p.status)
	}
	e.hook(t, study, w.ID)

	p = b.post(t, path, url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/studies/189/webhooks?") {
		t.Errorf("POST: status %d, Location %q; want 303 to the list", p.status, p.location())
	}
	if _, err := e.svc.Webhooks.Get(t.Context(), admin, study, w.ID); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Errorf("after deleting, the webhook: %v; want not found", err)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := e.signedIn(t)
	tests := []struct {
		name string
		get  func(t *testing.T) *page
	}{
		{"sign-in page", func(t *testing.T) *page { return e.browser(t).get(t, "/login") }},
		{"webhook list", func(t *testing.T) *page { return b.get(t, "/studies/189/webhooks") }},
		{"new webhook form", func(t *testing.T) *page { return b.get(t, "/studies/189/webhooks/new") }},
		{"not found", func(t *testing.T) *page { return b.get(t, "/nowhere") }},
		{"refused form", func(t *testing.T) *page { return b.post(t, "/studies/189/webhooks", url.Values{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.get(t)
			if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
				t.Fatalf("Content-Type %q, want an HTML page", p.header.Get("Content-Type"))
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if got := p.header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want DENY", got)
			}
			if got := p.header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
		})
	}
}
