// Package api serves Hookshot's JSON API (SPEC §7). Handlers only speak
// HTTP: they parse the path and the body, call a service, which checks the
// caller's permissions, and render; errors become RFC 9457 problem
// documents in one place (problem.go).
package api

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// Authenticator turns a bearer token into a Principal, or returns an
// EUnauthorized error.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*hookshot.Principal, error)
}

// AdminToken accepts one operator-given token as an admin
// (HOOKSHOT_ADMIN_TOKEN). The comparison takes constant time, and the token
// is kept only in memory.
type AdminToken string

// Authenticate implements Authenticator.
func (t AdminToken) Authenticate(_ context.Context, token string) (*hookshot.Principal, error) {
	if t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
		return &hookshot.Principal{Name: "admin-token", Admin: true}, nil
	}
	return nil, hookshot.Errorf(hookshot.EUnauthorized, "The bearer token is not valid.")
}

// Authenticators tries each Authenticator in turn and answers with the
// first Principal; when none accepts the token, with the last one's error.
// Put the admin token first: it is checked in memory.
type Authenticators []Authenticator

// Authenticate implements Authenticator.
func (as Authenticators) Authenticate(ctx context.Context, token string) (*hookshot.Principal, error) {
	err := error(hookshot.Errorf(hookshot.EUnauthorized, "The bearer token is not valid."))
	for _, a := range as {
		var p *hookshot.Principal
		if p, err = a.Authenticate(ctx, token); err == nil {
			return p, nil
		}
		if hookshot.ErrorCode(err) != hookshot.EUnauthorized {
			return nil, err
		}
	}
	return nil, err
}

// Options tune the API.
type Options struct {
	// MaxBody bounds a request body. Default 1 MiB.
	MaxBody int64
	// Metrics, when set, serves GET /metrics (Prometheus). Like the health
	// checks it needs no token: it holds counts and timings only.
	Metrics http.Handler
	// Registerer, when set, receives the API's request metrics.
	Registerer prometheus.Registerer
	// Tracer, when set, makes each publish a server span (SPEC §18). Nil
	// costs nothing.
	Tracer trace.Tracer
}

// Services are what the API's handlers call.
type Services struct {
	Webhooks *service.Webhooks
	Events   *service.Events
	Accounts *service.Accounts
	// Relays serves hookshot listen (listen.go).
	Relays *service.Relays
	// Ready reports whether the database accepts reads and writes now
	// (GET /readyz answers 503 while it does not).
	Ready func(context.Context) error
}

// Server is the API's http.Handler.
type Server struct {
	svc     Services
	auth    Authenticator
	log     *slog.Logger
	opts    Options
	mux     *http.ServeMux
	metrics *requestMetrics
	// v1Routes are the patterns of every /v1 route, so that a test can hold
	// them against the OpenAPI document.
	v1Routes []string
	// notReady is whether /readyz last said 503, so that it logs changes.
	notReady atomic.Bool
}

// New returns the API handler.
func New(svc Services, auth Authenticator, log *slog.Logger, opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	s := &Server{svc: svc, auth: auth, log: log, opts: opts, mux: http.NewServeMux(), metrics: newRequestMetrics(opts.Registerer)}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.opts.Metrics != nil {
		s.mux.Handle("GET /metrics", s.opts.Metrics)
	}

	s.public("GET /v1/openapi.json", s.openAPI)
	s.handleList("GET /v1/event-types", nil, s.eventTypes)
	s.handle("POST /v1/studies/{study}/events", s.serverSpan("POST /v1/studies/{study}/events", s.publish))
	s.handleList("GET /v1/studies/{study}/events", []string{"type", "since", "until", "cursor", "limit"}, s.listEvents)
	s.handle("GET /v1/studies/{study}/events/{event}", s.getEvent)
	s.handleList("GET /v1/studies/{study}/webhooks", nil, s.listWebhooks)
	s.handle("POST /v1/studies/{study}/webhooks", s.createWebhook)
	s.handle("GET /v1/studies/{study}/webhooks/{id}", s.getWebhook)
	s.handle("PATCH /v1/studies/{study}/webhooks/{id}", s.updateWebhook)
	s.handle("DELETE /v1/studies/{study}/webhooks/{id}", s.deleteWebhook)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/validate", s.validateWebhook)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/enable", s.enableWebhook)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/disable", s.disableWebhook)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/rotate-secret", s.rotateSecret)
	s.handle("POST /v1/studies/{study}/signing-keys/rotate", s.rotateSigningKey)
	// The public keys are for anyone who receives: no token.
	s.public("GET /v1/studies/{study}/jwks.json", s.jwks)
	s.handleList("GET /v1/studies/{study}/webhooks/{id}/deliveries",
		[]string{"status", "event", "id", "event_id", "since", "until", "cursor", "limit"}, s.listDeliveries)
	s.handle("GET /v1/studies/{study}/webhooks/{id}/deliveries/{delivery}", s.getDelivery)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/deliveries/{delivery}/resend", s.resendDelivery)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/recover", s.recoverDeliveries)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/replay", s.replayEvents)
	s.listenRoutes()

	// Integrators (SPEC §15, §17).
	s.handle("POST /v1/studies/{study}/webhooks/{id}/test", s.sendTestEvent)
	s.handleLimit("POST /v1/studies/{study}/events/batch", s.serverSpan("POST /v1/studies/{study}/events/batch", s.publishBatch), batchBodyFactor*s.opts.MaxBody)
	s.handleList("GET /v1/me/tokens", nil, s.listMyTokens)
	s.handle("POST /v1/me/tokens", s.createMyToken)
	s.handle("DELETE /v1/me/tokens/{token}", s.revokeMyToken)

	// Administration: the Accounts service lets only admins in.
	s.handleList("GET /v1/accounts", nil, s.listAccounts)
	s.handle("POST /v1/accounts", s.createAccount)
	s.handle("GET /v1/accounts/{account}", s.getAccount)
	s.handle("PATCH /v1/accounts/{account}", s.updateAccount)
	s.handle("DELETE /v1/accounts/{account}", s.deleteAccount)
	s.handleList("GET /v1/accounts/{account}/tokens", nil, s.listTokens)
	s.handle("POST /v1/accounts/{account}/tokens", s.createToken)
	s.handle("DELETE /v1/accounts/{account}/tokens/{token}", s.revokeToken)
	s.handleList("GET /v1/audit", []string{"study_id", "actor", "action", "cursor", "limit"}, s.listAudit)

	// Anything else under /v1/ is a problem document, not the mux's text
	// (see unrouted).
	s.mux.HandleFunc("/v1/", s.unrouted)
}

// handlerFunc is an API handler that has a caller.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *hookshot.Principal)

// handle registers an authenticated route. What the caller may do there
// is for the service to say.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.handleLimit(pattern, h, s.opts.MaxBody)
}

// handleLimit is handle with its own bound on the request body.
func (s *Server) handleLimit(pattern string, h handlerFunc, maxBody int64) {
	s.v1Routes = append(s.v1Routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			s.problem(w, r, hookshot.Errorf(hookshot.EUnauthorized, "This endpoint needs an API token: send it as \"Authorization: Bearer <token>\"."))
			return
		}
		p, err := s.auth.Authenticate(r.Context(), token)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r, p)
	})
}

// public registers a /v1 route that needs no token.
func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.v1Routes = append(s.v1Routes, pattern)
	s.mux.HandleFunc(pattern, h)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// ServeHTTP logs each request (never its body) and recovers from panics so
// one bad request cannot take the process down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !rec.wrote {
				s.problem(rec, r, hookshot.Errorf(hookshot.EInternal, "An internal error occurred."))
			}
		}
		took := time.Since(start)
		s.metrics.observe(r.Pattern, rec.status, took)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "route", r.Pattern, "status_code", rec.status, "duration_ms", took.Milliseconds())
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// The mux would answer in plain text; a known path called with a
		// method it lacks is only here, not under /v1/ (e.g. POST /healthz).
		s.unrouted(rec, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ready(ctx); err != nil {
		// Once per change, like the engine's outages: a load balancer
		// may ask every second.
		if !s.notReady.Swap(true) {
			s.log.Warn("not ready", "err", err)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, problemDoc{Type: "about:blank", Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "The database cannot be read or written right now (unreachable, read-only or full); the service's log says why.", Instance: r.URL.Path})
		return
	}
	if s.notReady.Swap(false) {
		s.log.Info("ready again")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
