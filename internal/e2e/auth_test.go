package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Basic credentials reach the receiver, which checks them itself, and are
// redacted in the stored attempt and absent from every API answer.
func TestBasicAuthCheckedByReceiver(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		const user, pass = "centrepoint", "pa55:word-not-in-logs"
		rc := newReceiver(t)
		check := func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == user && p == pass
		}
		rc.requireAuth(check)
		hook := h.validatedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"},
			"auth": map[string]any{"type": "basic", "username": user, "password": pass}})
		if hook.Auth["type"] != "basic" || hook.Auth["username"] != user || hook.Auth["password"] != nil {
			t.Fatalf("auth shown as %v", hook.Auth)
		}
		pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 2))
		d := h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
		if got := d.Attempts[0].Request.Headers["Authorization"]; got != "[redacted]" {
			t.Fatalf("stored Authorization header is %q, want [redacted]", got)
		}
		raw := h.call("GET", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/deliveries/"+d.ID, nil).Body
		list := h.call("GET", "/v1/studies/189/webhooks", nil).Body
		for _, body := range [][]byte{raw, list} {
			if strings.Contains(string(body), pass) {
				t.Fatalf("the password appears in an API answer: %s", body)
			}
		}
		if strings.Contains(h.Logs(), pass) {
			t.Fatal("the password appears in the logs")
		}
		if stored := storedBytes(t, h.Database); bytes.Contains(stored, []byte(pass)) {
			t.Fatal("the password is stored in plain text")
		}
	})
}

// tokenServer is a real OAuth2 client-credentials endpoint.
type tokenServer struct {
	*httptest.Server
	requests atomic.Int32
	mu       sync.Mutex
	issued   []string
}

func newTokenServer(t *testing.T, clientID, clientSecret string) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		if id != clientID || secret != clientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		n := ts.requests.Add(1)
		tok := "token-" + itoa(int64(n))
		ts.mu.Lock()
		ts.issued = append(ts.issued, tok)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": r.Form.Get("scope")})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// OAuth2: the token is fetched once and reused, and fetched again after
// the receiver answers 401.
func TestOAuth2TokenCachedAndRefreshedAfter401(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		const clientSecret = "client-secret-not-in-logs"
		ts := newTokenServer(t, "hookshot-client", clientSecret)
		var accepted atomic.Value
		accepted.Store("token-1")
		rc := newReceiver(t)
		check := func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer "+accepted.Load().(string)
		}
		rc.requireAuth(check)
		hook := h.validatedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"},
			"auth": map[string]any{"type": "oauth2", "token_url": ts.URL + "/token", "client_id": "hookshot-client", "client_secret": clientSecret, "scope": "webhooks"}})
		if hook.Auth["client_secret"] != nil || hook.Auth["token_url"] != ts.URL+"/token" || hook.Auth["scope"] != "webhooks" {
			t.Fatalf("auth shown as %v", hook.Auth)
		}
		for i := 0; i < 5; i++ {
			pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 100+i))
			h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
		}
		if n := ts.requests.Load(); n != 1 {
			t.Fatalf("token endpoint asked %d times for 6 requests, want once", n)
		}
		// The receiver revokes token-1: the next delivery gets a 401, a
		// fresh token, and goes through.
		accepted.Store("token-2")
		pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 200))
		d := h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
		if ts.requests.Load() != 2 {
			t.Fatalf("token endpoint asked %d times, want a second time after the 401", ts.requests.Load())
		}
		if len(d.Attempts) != 2 || d.Attempts[0].Response.Status != 401 || d.Attempts[1].Response.Status != 200 {
			t.Fatalf("want a 401 attempt then a 200 one, got %+v", d.Attempts)
		}
		if d.Attempts[1].Request.Headers["Authorization"] != "[redacted]" {
			t.Fatalf("bearer token stored: %v", d.Attempts[1].Request.Headers)
		}
		if strings.Contains(h.Logs(), clientSecret) || strings.Contains(h.Logs(), "token-2") {
			t.Fatal("a credential appears in the logs")
		}
	})
}

// A token endpoint that refuses the client fails the attempt with a reason.
func TestOAuth2TokenFailureIsRecorded(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		ts := newTokenServer(t, "right", "right")
		rc := newReceiver(t)
		hook := h.createWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"},
			"auth": map[string]any{"type": "oauth2", "token_url": ts.URL, "client_id": "wrong", "client_secret": "wrong"}})
		w := h.waitValidation(t, 189, hook.ID)
		if w.Validation.Status != "failed" {
			t.Fatalf("validation %s, want failed", w.Validation.Status)
		}
		d := h.delivery(t, 189, hook.ID, *w.Validation.DeliveryID)
		if d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "OAuth2 token request") {
			t.Fatalf("attempt error %v, want the token failure", d.Attempts[0].Error)
		}
		if len(rc.Validations()) != 0 {
			t.Fatal("the receiver was called without a token")
		}
	})
}
