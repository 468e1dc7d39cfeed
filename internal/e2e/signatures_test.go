package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookshot/hookshot/webhook"
)

// The npm verifiers live with internal/interop's, installed by
// npm ci --prefix internal/interop/testdata/node.
const nodeVerifierDir = "../interop/testdata/node"

// requireNodeVerifier returns Node.js once the pinned npm packages are
// installed; it skips otherwise, and fails under CI=true.
func requireNodeVerifier(t *testing.T) string {
	t.Helper()
	requireRuntime(t, "node", "Node.js 20 or newer (Debian: apt-get install nodejs npm)")
	for _, pkg := range []string{"standardwebhooks", "jose"} {
		if _, err := os.Stat(filepath.Join(nodeVerifierDir, "node_modules", pkg, "package.json")); err != nil {
			msg := "the npm package " + pkg + " is not installed: run npm ci --prefix internal/interop/testdata/node"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + "; CI=true, so this fails rather than skips")
			}
			t.Skip(msg)
		}
	}
	node, _ := exec.LookPath("node")
	return node
}

type nodeRequest struct {
	Name    string            `json:"name"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

type nodeResult struct {
	Name    string `json:"name"`
	Secrets []struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"secrets"`
	Kids []string `json:"kids"`
}

type nodeAnswer struct {
	Versions         map[string]string `json:"versions"`
	JWKSKids         []string          `json:"jwks_kids"`
	JWKSCacheControl *string           `json:"jwks_cache_control"`
	Results          []nodeResult      `json:"results"`
}

// nodeVerify has Node verify the requests a receiver got: with each
// secret through the npm standardwebhooks package, and with the keys of
// the JWKS at jwksURL (when not "") through jose and Node's crypto.
func nodeVerify(t *testing.T, secrets []string, jwksURL string, got ...received) nodeAnswer {
	t.Helper()
	node := requireNodeVerifier(t)
	in := struct {
		Requests []nodeRequest `json:"requests"`
		Secrets  []string      `json:"secrets"`
		JWKSURL  string        `json:"jwks_url,omitempty"`
	}{Secrets: secrets, JWKSURL: jwksURL}
	for i, r := range got {
		headers := map[string]string{}
		for k := range r.Header {
			headers[k] = r.Header.Get(k)
		}
		in.Requests = append(in.Requests, nodeRequest{Name: fmt.Sprint(i), Headers: headers, Body: r.Body})
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(nodeVerifierDir, "deliveries.mjs"))
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node deliveries.mjs: %v\n%s", err, stderr.String())
	}
	var answer nodeAnswer
	if err := json.Unmarshal(out, &answer); err != nil {
		t.Fatalf("node deliveries.mjs answered %q: %v", out, err)
	}
	t.Logf("verified with Node.js %s, standardwebhooks %s, jose %s", answer.Versions["node"], answer.Versions["standardwebhooks"], answer.Versions["jose"])
	return answer
}

// goStandardVerify verifies a request with the Standard Webhooks Go
// library.
func goStandardVerify(t *testing.T, secret string, r received) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	return wh.Verify(r.Body, r.Header)
}

type webhookSecretJSON struct {
	webhookJSON
	Format                  string     `json:"format"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	Secret                  string     `json:"secret"`
}

func (h *Hookshot) webhookWithFormat(t *testing.T, study, id int64) webhookSecretJSON {
	t.Helper()
	var w webhookSecretJSON
	h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d", study, id), nil).must(t, http.StatusOK).JSON(t, &w)
	return w
}

// Format standard with a generated whsec_ secret: the handshake and the
// events carry the Standard Webhooks headers beside the X-ActiGraph- ones,
// and both independent libraries verify them; the secret is answered once
// and never again, nor logged or stored in the clear.
func TestStandardFormatVerifiedIndependently(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		var created webhookSecretJSON
		h.call("POST", "/v1/studies/189/webhooks", map[string]any{"url": rc.URL, "events": []string{"upload"},
			"format": "standard", "auth": map[string]any{"type": "hmac"}}).must(t, http.StatusCreated).JSON(t, &created)
		secret := created.Secret
		if err := webhook.CheckStandardSecret(secret); err != nil {
			t.Fatalf("create answered secret %q: %v", secret, err)
		}
		if created.Format != "standard" {
			t.Fatalf("format %q, want standard", created.Format)
		}
		if w := h.waitValidation(t, 189, created.ID); w.Validation.Status != "passed" {
			t.Fatalf("validation %s:\n%s", w.Validation.Status, h.Logs())
		}
		payload := fixture(t, "upload-completed.json")
		pub := h.publish(t, 189, "upload", payload)
		h.waitSucceeded(t, 189, pub)
		got := append(rc.Validations(), rc.Events()...)
		if len(got) != 2 {
			t.Fatalf("the receiver got %d requests, want the handshake and the event", len(got))
		}
		event := got[1]
		if !bytes.Equal(event.Body, bytes.TrimSpace(payload)) {
			t.Fatalf("body %q, want the payload byte for byte", event.Body)
		}
		for i, r := range got {
			if id := r.Header.Get("Webhook-Id"); id == "" || id != r.Header.Get("X-ActiGraph-Delivery") {
				t.Errorf("request %d: webhook-id %q, X-ActiGraph-Delivery %q: want the delivery GUID in both", i, id, r.Header.Get("X-ActiGraph-Delivery"))
			}
			if sig := r.Header.Get("Webhook-Signature"); !strings.HasPrefix(sig, "v1,") || strings.Contains(sig, " ") {
				t.Errorf("request %d: webhook-signature %q, want one v1 entry", i, sig)
			}
			if r.Header.Get("X-ActiGraph-Signature") != "" {
				t.Errorf("request %d carries X-ActiGraph-Signature in format standard", i)
			}
			for _, name := range []string{"X-ActiGraph-Webhook-Id", "X-ActiGraph-Event", "X-Client-Cert-Used", "Traceparent"} {
				if r.Header.Get(name) == "" {
					t.Errorf("request %d has no %s", i, name)
				}
			}
			if err := goStandardVerify(t, secret, r); err != nil {
				t.Errorf("request %d: the Standard Webhooks Go library refuses it: %v", i, err)
			}
		}
		answer := nodeVerify(t, []string{secret, webhook.NewSecret()}, "", got...)
		for i, r := range answer.Results {
			if !r.Secrets[0].OK {
				t.Errorf("request %d: npm standardwebhooks refuses it with the webhook's secret: %s", i, r.Secrets[0].Error)
			}
			if r.Secrets[1].OK {
				t.Errorf("request %d: npm standardwebhooks accepts it with another secret", i)
			}
		}
		// The stored attempt holds the signature headers as sent.
		d := h.delivery(t, 189, created.ID, pub.Deliveries[0].ID)
		if s := d.Attempts[0].Request.Headers["webhook-signature"]; s != event.Header.Get("Webhook-Signature") {
			t.Errorf("stored webhook-signature %q, sent %q", s, event.Header.Get("Webhook-Signature"))
		}

		// Shown once: not in reads, lists, deliveries, logs or at rest.
		for _, body := range [][]byte{
			h.call("GET", "/v1/studies/189/webhooks/"+itoa(created.ID), nil).Body,
			h.call("GET", "/v1/studies/189/webhooks", nil).Body,
			h.call("GET", "/v1/studies/189/webhooks/"+itoa(created.ID)+"/deliveries/"+d.ID, nil).Body,
		} {
			if strings.Contains(string(body), secret) {
				t.Fatalf("the secret appears in an API answer: %s", body)
			}
		}
		if strings.Contains(h.Logs(), secret) {
			t.Fatal("the secret appears in the logs")
		}
		if bytes.Contains(storedBytes(t, h.Database), []byte(secret)) {
			t.Fatal("the secret is stored in plain text")
		}
	})
}

// Refused combinations answer 422 naming the field, and create nothing.
func TestSignatureFormatBadInput(t *testing.T) {
	t.Parallel()
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown format", map[string]any{"format": "svix", "auth": map[string]any{"type": "none"}}, "format"},
		{"standard with a secret that is no whsec_", map[string]any{"format": "standard", "auth": map[string]any{"type": "hmac", "secret": "s3cret"}}, "auth.secret"},
		{"ed25519 in format actigraph", map[string]any{"auth": map[string]any{"type": "ed25519"}}, "auth.type"},
		{"ed25519 with a secret", map[string]any{"format": "standard", "auth": map[string]any{"type": "ed25519", "secret": "whsec_x"}}, "auth.secret"},
	}
	for _, c := range cases {
		c.body["url"] = "https://receiver.example/hooks"
		c.body["events"] = []string{"upload"}
		var p problemJSON
		h.call("POST", "/v1/studies/189/webhooks", c.body).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
		if !slices.ContainsFunc(p.Errors, func(e struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		}) bool {
			return e.Field == c.field
		}) {
			t.Errorf("%s: problem %+v does not name %s", c.name, p, c.field)
		}
	}
	var list listJSON[webhookJSON]
	h.call("GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused creates left %d webhooks", len(list.Items))
	}
	// PATCH to format standard with an old-style secret is refused too.
	rc := newReceiver(t)
	hook := h.passedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "auth": map[string]any{"type": "hmac", "secret": "s3cret"}})
	h.call("PATCH", "/v1/studies/189/webhooks/"+itoa(hook.ID), map[string]any{"format": "standard"}).must(t, http.StatusUnprocessableEntity)
	for _, body := range []map[string]any{{"overlap": "-1s"}, {"overlap": "soon"}, {"overlap": "9000h"}, {"secret": ""}, {"color": "red"}} {
		r := h.call("POST", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/rotate-secret", body)
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("rotate-secret %v: status %d, want 422 or 400: %s", body, r.Status, r.Body)
		}
	}
	if w := h.webhookWithFormat(t, 189, hook.ID); w.Format != "actigraph" || w.PreviousSecretExpiresAt != nil {
		t.Fatalf("refused changes changed the webhook: %+v", w)
	}
}

// rotationCheck is what receivers of a rotation can verify: one that
// knows only the old secret, one that knows only the new one, and one
// that knows both.
type rotationCheck struct{ oldOnly, newOnly, both bool }

// A rotation walk in format actigraph: during the overlap
// X-ActiGraph-Signature keeps the old secret's signature, so a receiver
// that knows only the old secret keeps working, and -Next carries the new
// one's; afterwards only the new secret signs. No new validation runs.
func TestSecretRotationActiGraph(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		const oldSecret = "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
		hook := h.passedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"},
			"auth": map[string]any{"type": "hmac", "secret": oldSecret}})

		var rotated webhookSecretJSON
		h.call("POST", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/rotate-secret", map[string]any{"overlap": "10s"}).
			must(t, http.StatusOK).JSON(t, &rotated)
		newSecret := rotated.Secret
		if newSecret == "" || rotated.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotate-secret answered %+v, want the generated secret and the end of the overlap", rotated)
		}
		if rotated.Validation.Status != "passed" {
			t.Fatalf("rotation changed the validation to %s", rotated.Validation.Status)
		}
		check := func(r received) rotationCheck {
			// A CentrePoint-era receiver compares X-ActiGraph-Signature only.
			oldOnly := r.Header.Get("X-ActiGraph-Signature") == webhook.Sign(oldSecret, r.Body)
			v := func(secrets ...string) bool {
				return (&webhook.Verifier{Secrets: secrets, Format: webhook.FormatActiGraph}).Verify(r.Header, r.Body) == nil
			}
			return rotationCheck{oldOnly: oldOnly, newOnly: v(newSecret), both: v(oldSecret, newSecret)}
		}

		during := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))
		h.waitSucceeded(t, 189, during)
		d := h.delivery(t, 189, hook.ID, during.Deliveries[0].ID)
		if !d.Attempts[0].StartedAt.Before(*rotated.PreviousSecretExpiresAt) {
			t.Fatalf("the attempt started at %s, after the 10s overlap ended: the machine is too slow for this test", d.Attempts[0].StartedAt)
		}
		if got := check(rc.Events()[0]); got != (rotationCheck{true, true, true}) {
			t.Fatalf("during the overlap: %+v, want every receiver to verify; headers %v", got, rc.Events()[0].Header)
		}

		waitFor(t, 30*time.Second, "the end of the overlap", func() bool {
			return h.webhookWithFormat(t, 189, hook.ID).PreviousSecretExpiresAt == nil
		})
		after := h.publish(t, 189, "upload", uploadPayload(189, "completed", 2))
		h.waitSucceeded(t, 189, after)
		last := rc.Events()[1]
		if got := check(last); got != (rotationCheck{false, true, true}) {
			t.Fatalf("after the overlap: %+v, want the new secret only; headers %v", got, last.Header)
		}
		if last.Header.Get("X-ActiGraph-Signature-Next") != "" {
			t.Error("X-ActiGraph-Signature-Next is still sent after the overlap")
		}
		if n := len(rc.Validations()); n != 1 {
			t.Errorf("the receiver got %d validation requests, want only the first: a rotation needs none", n)
		}
		auditHas(t, h, "secret_rotated", "webhook "+itoa(hook.ID))
		if strings.Contains(h.Logs(), newSecret) || bytes.Contains(storedBytes(t, h.Database), []byte(newSecret)) {
			t.Fatal("the new secret is in the logs or stored in plain text")
		}
	})
}

// The same walk in format standard, verified by the npm and Go Standard
// Webhooks libraries: both signatures during the overlap, the new one's
// after.
func TestSecretRotationStandard(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		oldSecret, newSecret := webhook.NewSecret(), webhook.NewSecret()
		hook := h.passedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "format": "standard",
			"auth": map[string]any{"type": "hmac", "secret": oldSecret}})
		var rotated webhookSecretJSON
		h.call("POST", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/rotate-secret", map[string]any{"secret": newSecret, "overlap": "10s"}).
			must(t, http.StatusOK).JSON(t, &rotated)
		if rotated.Secret != "" {
			t.Fatal("rotate-secret echoed a secret the caller chose")
		}
		during := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))
		h.waitSucceeded(t, 189, during)
		first := rc.Events()[0]
		if signed := signedAt(t, first); !signed.Before(*rotated.PreviousSecretExpiresAt) {
			t.Fatalf("signed at %s, after the 10s overlap ended: the machine is too slow for this test", signed)
		}
		if n := len(strings.Fields(first.Header.Get("Webhook-Signature"))); n != 2 {
			t.Fatalf("webhook-signature %q during the overlap, want two v1 entries", first.Header.Get("Webhook-Signature"))
		}

		waitFor(t, 30*time.Second, "the end of the overlap", func() bool {
			return h.webhookWithFormat(t, 189, hook.ID).PreviousSecretExpiresAt == nil
		})
		after := h.publish(t, 189, "upload", uploadPayload(189, "completed", 2))
		h.waitSucceeded(t, 189, after)
		second := rc.Events()[1]

		answer := nodeVerify(t, []string{oldSecret, newSecret}, "", first, second)
		want := [][2]bool{{true, true}, {false, true}}
		for i, r := range answer.Results {
			if got := [2]bool{r.Secrets[0].OK, r.Secrets[1].OK}; got != want[i] {
				t.Errorf("npm standardwebhooks, request %d: old, new secret verify %v, want %v (%+v)", i, got, want[i], r.Secrets)
			}
		}
		for i, r := range []received{first, second} {
			got := [2]bool{goStandardVerify(t, oldSecret, r) == nil, goStandardVerify(t, newSecret, r) == nil}
			if got != want[i] {
				t.Errorf("Go standardwebhooks, request %d: old, new secret verify %v, want %v", i, got, want[i])
			}
		}
		if n := len(rc.Validations()); n != 1 {
			t.Errorf("the receiver got %d validation requests, want only the first", n)
		}
	})
}

type jwksJSON struct {
	Keys []map[string]string `json:"keys"`
}

// Ed25519: the study's key is made when the first webhook needs it, the
// JWKS is public and cacheable, jose with Node's crypto verifies the
// handshake and the events against it, and a key rotation signs with both
// keys, both in the JWKS, until the overlap ends. Only the study's
// managers and admins may rotate.
func TestEd25519WithJWKS(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		jwksPath := "/v1/studies/189/jwks.json"
		jwks := func() jwksJSON {
			var set jwksJSON
			r := h.callAs("", "GET", jwksPath, nil).must(t, http.StatusOK)
			if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
				t.Fatalf("JWKS Cache-Control %q, want a max-age", cc)
			}
			r.JSON(t, &set)
			return set
		}
		if n := len(jwks().Keys); n != 0 {
			t.Fatalf("a study that never needed a key has %d in its JWKS", n)
		}
		rc := newReceiver(t)
		hook := h.passedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "format": "standard",
			"auth": map[string]any{"type": "ed25519"}})
		first := jwks()
		if len(first.Keys) != 1 || first.Keys[0]["kty"] != "OKP" || first.Keys[0]["crv"] != "Ed25519" || first.Keys[0]["kid"] == "" || first.Keys[0]["d"] != "" {
			t.Fatalf("JWKS after the first ed25519 webhook: %v", first)
		}
		oldKid := first.Keys[0]["kid"]
		during := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))
		h.waitSucceeded(t, 189, during)

		// Who may rotate: a publisher of the study is refused, a manager of
		// another study does not see it, the study's manager may.
		h.cliAccount(t, "--email", "pipeline@example.org", "--publish", "189")
		h.cliAccount(t, "--email", "other@example.org", "--manage", "190")
		h.cliAccount(t, "--email", "bob@example.org", "--manage", "189")
		rotate := "/v1/studies/189/signing-keys/rotate"
		h.callAs(h.cliToken(t, "pipeline@example.org", "ci"), "POST", rotate, map[string]any{"overlap": "10s"}).must(t, http.StatusForbidden)
		h.callAs(h.cliToken(t, "other@example.org", "ci"), "POST", rotate, map[string]any{"overlap": "10s"}).must(t, http.StatusNotFound)
		h.callAs("", "POST", rotate, map[string]any{"overlap": "10s"}).must(t, http.StatusUnauthorized)
		var keys struct {
			Keys []struct {
				Kid       string     `json:"kid"`
				ExpiresAt *time.Time `json:"expires_at"`
			} `json:"keys"`
		}
		h.callAs(h.cliToken(t, "bob@example.org", "ci"), "POST", rotate, map[string]any{"overlap": "10s"}).must(t, http.StatusOK).JSON(t, &keys)
		if len(keys.Keys) != 2 || keys.Keys[1].Kid != oldKid || keys.Keys[1].ExpiresAt == nil || keys.Keys[0].ExpiresAt != nil {
			t.Fatalf("rotate answered %+v, want the new key and the old one with its end", keys)
		}
		newKid := keys.Keys[0].Kid
		overlapEnd := *keys.Keys[1].ExpiresAt

		both := h.publish(t, 189, "upload", uploadPayload(189, "completed", 2))
		h.waitSucceeded(t, 189, both)
		duringRotation := rc.Events()[1]
		if signed := signedAt(t, duringRotation); !signed.Before(overlapEnd) {
			t.Fatalf("signed at %s, after the 10s overlap ended: the machine is too slow for this test", signed)
		}
		answer := nodeVerify(t, nil, h.URL+jwksPath, append(rc.Validations(), rc.Events()...)...)
		if !slices.Equal(answer.JWKSKids, []string{newKid, oldKid}) {
			t.Fatalf("jose read kids %v from the JWKS, want %v", answer.JWKSKids, []string{newKid, oldKid})
		}
		if answer.JWKSCacheControl == nil || !strings.Contains(*answer.JWKSCacheControl, "max-age") {
			t.Errorf("Node saw Cache-Control %v", answer.JWKSCacheControl)
		}
		wantKids := [][]string{{oldKid}, {oldKid}, {newKid, oldKid}} // handshake, event, event during the rotation
		for i, r := range answer.Results {
			got := slices.Clone(r.Kids)
			slices.Sort(got)
			want := slices.Clone(wantKids[i])
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("request %d verifies with keys %v, want %v", i, r.Kids, wantKids[i])
			}
		}
		// The webhook package verifies with the JWKS too.
		parsed, err := webhook.ParseJWKS(h.callAs("", "GET", jwksPath, nil).Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := (&webhook.Verifier{Keys: parsed}).Verify(duringRotation.Header, duringRotation.Body); err != nil {
			t.Errorf("webhook.Verifier with the JWKS: %v", err)
		}

		waitFor(t, 30*time.Second, "the old key to leave the JWKS", func() bool { return len(jwks().Keys) == 1 })
		if kid := jwks().Keys[0]["kid"]; kid != newKid {
			t.Fatalf("after the overlap the JWKS holds %s, want the new key %s", kid, newKid)
		}
		after := h.publish(t, 189, "upload", uploadPayload(189, "completed", 3))
		h.waitSucceeded(t, 189, after)
		last := rc.Events()[2]
		if n := len(strings.Fields(last.Header.Get("Webhook-Signature"))); n != 1 {
			t.Fatalf("webhook-signature %q after the overlap, want one v1a entry", last.Header.Get("Webhook-Signature"))
		}
		if got := nodeVerify(t, nil, h.URL+jwksPath, last).Results[0].Kids; !slices.Equal(got, []string{newKid}) {
			t.Errorf("after the overlap the event verifies with %v, want the new key only", got)
		}
		auditHas(t, h, "signing_key_rotated", "signing key "+newKid)
		if n := len(rc.Validations()); n != 1 {
			t.Errorf("%d validation requests, want 1", n)
		}
		if w := h.webhookWithFormat(t, 189, hook.ID); w.Auth["type"] != "ed25519" || w.Format != "standard" {
			t.Errorf("webhook reads as %v, format %s", w.Auth, w.Format)
		}
	})
}

// passedWebhook creates a webhook and waits for it to pass validation,
// failing with the validation attempt's error when it does not.
func (h *Hookshot) passedWebhook(t *testing.T, study int64, body any) webhookJSON {
	t.Helper()
	w := h.createWebhook(t, study, body)
	w = h.waitValidation(t, study, w.ID)
	if w.Validation.Status != "passed" {
		d := h.delivery(t, study, w.ID, *w.Validation.DeliveryID)
		for _, a := range d.Attempts {
			if a.Error != nil {
				t.Errorf("validation attempt %d: %s", a.Number, *a.Error)
			}
		}
		t.Fatalf("validation of webhook %d: %s", w.ID, w.Validation.Status)
	}
	return w
}

// signedAt is a format standard request's webhook-timestamp.
func signedAt(t *testing.T, r received) time.Time {
	t.Helper()
	unix, err := strconv.ParseInt(r.Header.Get("Webhook-Timestamp"), 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q: %v", r.Header.Get("Webhook-Timestamp"), err)
	}
	return time.Unix(unix, 0)
}

// The handshake works in format standard with every authentication: the
// request carries webhook-id and webhook-timestamp, and the
// authentication's own header.
func TestStandardFormatHandshakeEveryAuth(t *testing.T) {
	t.Parallel()
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"))
	for _, auth := range []map[string]any{
		{"type": "none"},
		{"type": "basic", "username": "centrepoint", "password": "pa55word"},
		{"type": "hmac", "secret": webhook.NewSecret()},
		{"type": "ed25519"},
	} {
		rc := newReceiver(t)
		h.passedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "format": "standard", "auth": auth})
		v := rc.Validations()[0]
		if v.Header.Get("Webhook-Id") != v.Header.Get("X-ActiGraph-Delivery") || v.Header.Get("Webhook-Timestamp") == "" {
			t.Errorf("%s: handshake headers %v", auth["type"], v.Header)
		}
		signed := v.Header.Get("Webhook-Signature") != ""
		if wantSigned := auth["type"] == "hmac" || auth["type"] == "ed25519"; signed != wantSigned {
			t.Errorf("%s: webhook-signature %q", auth["type"], v.Header.Get("Webhook-Signature"))
		}
		if _, _, ok := (&http.Request{Header: v.Header}).BasicAuth(); ok != (auth["type"] == "basic") {
			t.Errorf("%s: Authorization %q", auth["type"], v.Header.Get("Authorization"))
		}
	}
}

// auditHas fails unless the study's audit trail holds an entry of action
// on target.
func auditHas(t *testing.T, h *Hookshot, action, target string) {
	t.Helper()
	var trail listJSON[struct {
		Action string `json:"action"`
		Target string `json:"target"`
	}]
	h.call("GET", "/v1/audit?study_id=189&limit=200", nil).must(t, http.StatusOK).JSON(t, &trail)
	for _, e := range trail.Items {
		if e.Action == action && e.Target == target {
			return
		}
	}
	t.Errorf("the audit trail %+v has no %s of %s", trail.Items, action, target)
}
