// Package portal serves the web portal of SPEC §10, where webhooks
// managers sign in and manage their studies' webhooks. Pages are rendered
// on the server with html/template; a little JavaScript shows the fields
// of the chosen authentication type and reloads a page whose webhook is
// being validated, and every page works without it.
//
// Every form carries a CSRF token tied to the session, every request is
// also checked with net/http's cross-origin protection, and the session
// cookie is HttpOnly, SameSite=Lax and Secure behind HTTPS.
package portal

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Services are what the portal's handlers call.
type Services struct {
	Webhooks *service.Webhooks
	Events   *service.Events
	Sessions *service.Sessions
	// Accounts serves the admin pages and the account's own API tokens.
	Accounts *service.Accounts
}

// Server is the portal's http.Handler.
type Server struct {
	opts    Options
	svc     Services
	log     *slog.Logger
	pages   map[string]*template.Template
	mux     *http.ServeMux
	limiter *loginLimiter
	origin  *http.CrossOriginProtection
}

// Options tune the portal.
type Options struct {
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client, for the sign-in limit (HOOKSHOT_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
}

// New returns the portal handler.
func New(svc Services, log *slog.Logger, opts Options) (*Server, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		svc:     svc,
		log:     log,
		pages:   pages,
		mux:     http.NewServeMux(),
		limiter: newLoginLimiter(),
		origin:  http.NewCrossOriginProtection(),
	}
	s.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, nil, http.StatusForbidden, "This form was sent from another site, so it was refused. Open the portal again and send it from there.")
	}))
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.handle("POST /logout", s.logout)

	s.handle("GET /{$}", s.home)
	s.handle("GET /studies", s.openStudy)
	s.handleStudy("GET /studies/{study}/events", s.listEvents)
	s.handleStudy("GET /studies/{study}/events/{event}", s.showEvent)
	s.handleStudy("GET /studies/{study}/webhooks", s.listWebhooks)
	s.handleStudy("GET /studies/{study}/webhooks/new", s.newWebhook)
	s.handleStudy("POST /studies/{study}/webhooks", s.createWebhook)
	s.handleStudy("GET /studies/{study}/webhooks/{id}", s.showWebhook)
	s.handleStudy("GET /studies/{study}/webhooks/{id}/state", s.webhookState)
	s.handleStudy("GET /studies/{study}/webhooks/{id}/edit", s.editWebhook)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/edit", s.updateWebhook)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/validate", s.validateWebhook)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/enable", s.enableWebhook)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/disable", s.disableWebhook)
	s.handleStudy("GET /studies/{study}/webhooks/{id}/delete", s.confirmDelete)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/delete", s.deleteWebhook)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/rotate-secret", s.rotateSecret)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/rotate-signing-key", s.rotateSigningKey)
	s.handleStudy("GET /studies/{study}/webhooks/{id}/deliveries/{delivery}", s.showDelivery)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/deliveries/{delivery}/resend", s.resendDelivery)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/recover", s.recoverDeliveries)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/replay", s.replayEvents)
	s.handleStudy("POST /studies/{study}/webhooks/{id}/test", s.sendTestEvent)
	s.handle("GET /catalog", s.showCatalog)
	s.handle("GET /tokens", s.showTokens)
	s.handle("POST /tokens", s.createToken)
	s.handle("POST /tokens/{token}/revoke", s.revokeToken)

	s.adminRoutes()

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, nil, http.StatusNotFound, "There is no page at this address.")
	})
}

// ServeHTTP sets the headers every page needs, refuses cross-origin
// writes, and recovers from panics so one bad request cannot take the
// process down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving page", "method", r.Method, "path", r.URL.Path, "panic", v)
			http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
		}
		s.log.Debug("page", "method", r.Method, "path", r.URL.Path, "duration_ms", time.Since(start).Milliseconds())
	}()
	s.origin.Handler(s.mux).ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title   string
	Account *hookshot.Account // nil when signed out
	CSRF    string
	Study   int64 // the study in view; 0 outside one
	Notice  string
	Data    any
}

var funcs = template.FuncMap{
	"join":           strings.Join,
	"time":           formatTime,
	"ago":            ago,
	"duration":       formatDuration,
	"body":           formatBody,
	"bodyNote":       bodyNote,
	"headers":        sortedHeaders,
	"hasString":      hasString,
	"statusOK":       func(code int) bool { return code >= 200 && code < 300 },
	"label":          label,
	"resend":         resendArgs,
	"field":          fieldArgs,
	"secretHint":     secretHint,
	"lastResult":     lastResult,
	"disabledReason": disabledReason,
	"name":           webhookName,
	"list":           func(v ...string) []string { return v },
	"webhookOf":      func(m map[int64]*hookshot.Webhook, id int64) *hookshot.Webhook { return m[id] },
	"studyList":      studyList,
	"tokenState":     tokenState,
}

// parsePages parses each page template together with the layout, so that
// every page can define its own "content" block.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/_*.html", name)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page. It renders into a buffer first, so that a
// template error becomes a clean error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := s.pages[page]
	if !ok {
		panic("portal: no page template " + page)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.log.Error("rendering page", "page", page, "err", err)
		http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage shows a message in the layout; sess may be nil.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, message string) {
	title := http.StatusText(status)
	if status == http.StatusServiceUnavailable {
		title = "Storage unavailable"
		w.Header().Set("Retry-After", strconv.Itoa(int(hookshot.RetryAfter.Seconds())))
	}
	v := &view{Title: title, Data: message}
	if sess != nil {
		v.Account, v.CSRF = sess.account, sess.csrf
	}
	s.render(w, r, status, "error", v)
}

// fail shows err as a page: the service's message for errors meant for
// people, and a generic one (logged in full) for anything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	status := hookshot.HTTPStatus(hookshot.ErrorCode(err))
	switch status {
	case http.StatusInternalServerError:
		s.log.Error("serving page", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		s.log.Debug("page refused: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.errorPage(w, r, sess, status, hookshot.ErrorMessage(err))
}

// redirect answers a form with a redirect to a page (POST, redirect,
// GET), with a notice for that page to show.
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	if u, err := url.Parse(path); err == nil && notice != "" {
		q := u.Query()
		q.Set("notice", notice)
		u.RawQuery = q.Encode()
		path = u.String()
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// notices are the messages a redirect may ask a page to show; only these
// keys are accepted, so a link cannot make the portal say anything else.
var notices = map[string]string{
	"created":       "The webhook was created. A validation request is on its way to the receiver.",
	"saved":         "The webhook was saved.",
	"revalidate":    "The webhook was saved. Its receiver changed, so a new validation request is on its way.",
	"validating":    "A validation request is on its way to the receiver.",
	"enabled":       "The webhook is enabled.",
	"disabled":      "The webhook is disabled: it gets no new events until it is enabled again.",
	"deleted":       "The webhook was deleted.",
	"resent":        "The delivery was queued to be sent again.",
	"retried":       "The delivery will be attempted again now; its scheduled retries are kept.",
	"rotated":       "The secret was replaced. The old one keeps signing until the overlap ends.",
	"key-rotated":   "The study has a new signing key. The old one keeps signing, and stays in the JWKS, until the overlap ends.",
	"signed-out":    "You are signed out.",
	"expired":       "Your session has ended; sign in again.",
	"in-progress":   "That delivery is still in progress; it can be resent once it has succeeded or failed.",
	"test-sent":     "A test event is on its way to the receiver; it appears below as a delivery.",
	"token-revoked": "The token was revoked: it stops working at once.",
}

func notice(r *http.Request) string {
	if n := countNotice(r); n != "" {
		return n
	}
	return notices[r.URL.Query().Get("notice")]
}
