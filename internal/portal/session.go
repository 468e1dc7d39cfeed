package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

const (
	sessionCookie = "hookshot_session"
	// loginCookie holds the CSRF token of the sign-in form, which has no
	// session to tie it to yet (double-submit).
	loginCookie = "hookshot_login"
	csrfField   = "csrf"
)

// session is a signed-in request's account and the CSRF token its forms
// must carry.
type session struct {
	account *hookshot.Account
	secret  string
	csrf    string
}

func (sess *session) principal() *hookshot.Principal { return sess.account.Principal() }

// csrfToken derives a session's form token from its secret, so it needs no
// storage, changes with every sign-in, and cannot be computed without the
// cookie, which scripts on other sites cannot read.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("hookshot portal csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// handlerFunc is a portal handler for a signed-in account.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sess *session)

// handle registers a route for signed-in accounts: others are sent to the
// sign-in page (GET) or refused (anything else). Every POST must carry the
// session's CSRF token.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(w, r)
		if err != nil {
			// The database could not say who this is: keep the cookie, so
			// that the session works again once the database is back.
			s.fail(w, r, nil, err)
			return
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			redirect(w, r, "/login", "expired")
			return
		}
		if r.Method == http.MethodPost {
			if !s.readForm(w, r, sess, maxForm) {
				return
			}
			if !sameToken(r.PostFormValue(csrfField), sess.csrf) {
				s.errorPage(w, r, sess, http.StatusForbidden, "This form has expired or did not come from this portal, so nothing was changed. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	})
}

// studyHandlerFunc is a handler for one study.
type studyHandlerFunc func(w http.ResponseWriter, r *http.Request, sess *session, study int64)

// handleStudy registers a route under /studies/{study}/ for signed-in
// accounts, with the study id parsed. Whether the account may see the
// study is the service's to say, as in the API: another study is "not
// found", so that a manager cannot tell another study's webhooks exist.
func (s *Server) handleStudy(pattern string, h studyHandlerFunc) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request, sess *session) {
		study := pathID(r, "study")
		if study == 0 {
			s.errorPage(w, r, sess, http.StatusNotFound, "This study does not exist, or you do not manage its webhooks.")
			return
		}
		h(w, r, sess, study)
	})
}

// session returns the request's signed-in session, or nil. A cookie that
// no longer signs anyone in is removed. The error is the database's
// failure to say (hookshot.ErrStorageUnavailable): the session may be
// fine, so the cookie stays.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	a, err := s.svc.Sessions.Account(r.Context(), c.Value)
	if hookshot.ErrorCode(err) == hookshot.EUnavailable {
		return nil, err
	}
	if err != nil {
		if hookshot.ErrorCode(err) != hookshot.EUnauthorized {
			s.log.Error("reading a session", "err", err)
		}
		s.setCookie(w, r, sessionCookie, "", -1)
		return nil, nil
	}
	return &session{account: a, secret: c.Value, csrf: csrfToken(c.Value)}, nil
}

// setCookie sets or (maxAge < 0) removes a cookie. Cookies are Secure when
// the request came over HTTPS, directly or through a proxy that says so.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
		SameSite: http.SameSiteLaxMode,
	})
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

type loginData struct {
	Email string
	Next  string
	Error string
	// NobodyCanSignIn: no account has a password yet, so the page says
	// how to make the first one.
	NobodyCanSignIn bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if sess != nil {
		next := localPath(r.URL.Query().Get("next"))
		if next == "" {
			next = "/"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, loginData{Next: localPath(r.URL.Query().Get("next"))})
}

// showLogin renders the sign-in form with a fresh form token.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(w, r, loginCookie, token, int((30 * time.Minute).Seconds()))
	nobody, err := s.svc.Sessions.NobodyCanSignIn(r.Context())
	if err != nil {
		// The form still works; only the first-run hint is missing.
		s.log.Error("checking for accounts that can sign in", "err", err)
	}
	d.NobodyCanSignIn = nobody
	s.render(w, r, status, "login", &view{Title: "Sign in", CSRF: token, Notice: notice(r), Data: d})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r, nil, maxLoginForm) {
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	d := loginData{Email: email, Next: localPath(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue(csrfField), c.Value) {
		d.Error = "The sign-in form had expired. Please sign in again."
		s.showLogin(w, r, http.StatusForbidden, d)
		return
	}
	succeeded, ok := s.limiter.attempt(s.clientIP(r), strings.ToLower(email))
	if !ok {
		d.Error = "Too many sign-in attempts. Wait a minute, then try again."
		w.Header().Set("Retry-After", "60")
		s.showLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	if email == "" || r.PostFormValue("password") == "" {
		d.Error = "Enter your email and your password."
		s.showLogin(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	a, secret, err := s.svc.Sessions.SignIn(r.Context(), email, r.PostFormValue("password"))
	if hookshot.ErrorCode(err) == hookshot.EUnauthorized {
		// Not the typed email: people paste their password into it.
		s.log.Info("sign-in refused", "ip", s.clientIP(r))
		d.Error = hookshot.ErrorMessage(err)
		s.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	succeeded()
	s.log.Info("signed in", "account_id", a.ID, "ip", s.clientIP(r))
	s.setCookie(w, r, loginCookie, "", -1)
	s.setCookie(w, r, sessionCookie, secret, int(service.SessionTTL.Seconds()))
	next := d.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.Sessions.SignOut(r.Context(), sess.secret); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.setCookie(w, r, sessionCookie, "", -1)
	redirect(w, r, "/login", "signed-out")
}

// localPath returns p when it is a path on this site, and "" otherwise, so
// that ?next= cannot send a signed-in user elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return ""
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return p
}

// clientIP is the address the request came from. X-Forwarded-For is read
// only when the request comes from a proxy the operator trusts, and then
// from the right, skipping the trusted hops: anyone else could send the
// header to escape the sign-in limit.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(hop) {
			return hop.Unmap().String()
		}
	}
	return host
}

func (s *Server) trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// loginLimiter slows password guessing: each address and each email gets a
// small burst of attempts, then one more every so often. It is kept in
// memory, per process.
type loginLimiter struct {
	mu       sync.Mutex
	limiters map[string]*limiterEntry
	swept    time.Time
}

type limiterEntry struct {
	limiter *rate.Limiter
	seen    time.Time
}

const (
	attemptsPerEmail      = 5
	emailRefill           = 20 * time.Second
	attemptsPerAddress    = 20
	addressRefill         = 3 * time.Second
	forgetLimitersAfter   = 15 * time.Minute
	sweepLimitersEveryLen = 1024
)

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{limiters: map[string]*limiterEntry{}}
}

// attempt takes one attempt from the address and one from the email, and
// reports whether both had one left. A successful sign-in calls succeeded,
// which gives the email its whole allowance back: only failures add up, so
// signing in from several devices never locks anyone out. Taking before
// checking, rather than after a failure, keeps parallel guesses within the
// limit too.
func (l *loginLimiter) attempt(ip, email string) (succeeded func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.limiters) >= sweepLimitersEveryLen && now.Sub(l.swept) > time.Minute {
		for k, e := range l.limiters {
			if now.Sub(e.seen) > forgetLimitersAfter {
				delete(l.limiters, k)
			}
		}
		l.swept = now
	}
	emailKey := "email " + email
	byIP := l.get("ip "+ip, rate.Every(addressRefill), attemptsPerAddress, now).ReserveN(now, 1)
	byEmail := l.get(emailKey, rate.Every(emailRefill), attemptsPerEmail, now).ReserveN(now, 1)
	if byIP.DelayFrom(now) > 0 || byEmail.DelayFrom(now) > 0 {
		// A refused attempt costs nothing, or waiting would never end.
		byIP.CancelAt(now)
		byEmail.CancelAt(now)
		return nil, false
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.limiters, emailKey)
	}, true
}

func (l *loginLimiter) get(key string, every rate.Limit, burst int, now time.Time) *rate.Limiter {
	e, ok := l.limiters[key]
	if !ok {
		e = &limiterEntry{limiter: rate.NewLimiter(every, burst)}
		l.limiters[key] = e
	}
	e.seen = now
	return e.limiter
}
