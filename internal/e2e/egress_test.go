package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Without HOOKSHOT_EGRESS_ALLOW, loopback targets are refused when
// connecting, whether named by address or by a host name that resolves to
// one, so DNS cannot smuggle a private address past the guard.
func TestPrivateAddressesRefusedAtConnectTime(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_EGRESS_ALLOW=")
		rc := newReceiver(t)
		port := rc.URL[strings.LastIndex(rc.URL, ":"):]
		for _, target := range []string{rc.URL, "https://localhost" + port + "/"} {
			hook := h.createWebhook(t, 189, hookBody(target, "upload"))
			w := h.waitValidation(t, 189, hook.ID)
			if w.Validation.Status != "failed" {
				t.Fatalf("%s: validation %s, want failed", target, w.Validation.Status)
			}
			d := h.delivery(t, 189, hook.ID, *w.Validation.DeliveryID)
			if d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "refused to connect") {
				t.Fatalf("%s: attempt error %v, want a refusal", target, d.Attempts[0].Error)
			}
		}
		if len(rc.Validations()) != 0 {
			t.Fatal("the guarded receiver was reached")
		}
		// The metadata address is refused as well (nothing listens there; the
		// guard stops the dial before any packet is sent).
		hook := h.createWebhook(t, 189, hookBody("https://169.254.169.254/latest/meta-data", "upload"))
		w := h.waitValidation(t, 189, hook.ID)
		d := h.delivery(t, 189, hook.ID, *w.Validation.DeliveryID)
		if d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "refused to connect") {
			t.Fatalf("metadata address: attempt error %v", d.Attempts[0].Error)
		}
	})
}

// http:// targets are accepted only when the operator allows them.
func TestHTTPTargetsNeedAllowHTTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
		}))
		t.Cleanup(plain.Close)
		db := b.database(t)
		h := start(t, db)
		h.call("POST", "/v1/studies/189/webhooks", hookBody(plain.URL, "upload")).must(t, http.StatusUnprocessableEntity)
		h.Stop()
		h2 := start(t, db, "HOOKSHOT_ALLOW_HTTP=true")
		hook := h2.createWebhook(t, 189, hookBody(plain.URL, "upload"))
		if h2.waitValidation(t, 189, hook.ID).Validation.Status != "passed" {
			t.Fatal("http:// target not validated with HOOKSHOT_ALLOW_HTTP")
		}
		// Its token endpoint is held to the same rule.
		h2.Stop()
		h3 := start(t, db)
		r := h3.call("POST", "/v1/studies/189/webhooks", map[string]any{"url": "https://example.com/", "events": []string{"upload"},
			"auth": map[string]any{"type": "oauth2", "token_url": "http://example.com/token", "client_id": "a", "client_secret": "b"}})
		r.must(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.Body), "auth.token_url") {
			t.Fatalf("problem %s does not name auth.token_url", r.Body)
		}
	})
}
