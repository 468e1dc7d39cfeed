package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Every example payload is accepted and reaches the receiver byte for
// byte, with exactly the documented headers.
func TestFixturesArriveByteForByteWithDocumentedHeaders(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		names, err := fs.ReadDir(fixtures, ".")
		if err != nil {
			t.Fatal(err)
		}
		if len(names) < 7 {
			t.Fatalf("found %d example payloads, want every event type", len(names))
		}
		hooks := map[int64]webhookJSON{}
		receivers := map[int64]*receiver{}
		for _, f := range names {
			study := fixtureStudy[f.Name()]
			if _, ok := hooks[study]; ok {
				continue
			}
			rc := newReceiver(t)
			receivers[study] = rc
			hooks[study] = h.validatedWebhook(t, study, hookBody(rc.URL+"/hook",
				"upload", "raw_processing_complete", "data_retrieval_complete", "daily_statistics_complete", "cp2_daily_statistics_complete"))
		}
		sent := map[int64]int{}
		for _, f := range names {
			name := f.Name()
			study, eventType := fixtureStudy[name], fixtureType[name]
			// The payload is the JSON value as it stands in the publish
			// request, inner whitespace and all; the file's final newline
			// lies outside that value.
			payload := bytes.TrimSpace(fixture(t, name))
			pub := h.publish(t, study, eventType, payload)
			if !guid.MatchString(pub.ID) || len(pub.Deliveries) != 1 || pub.Deliveries[0].WebhookID != hooks[study].ID {
				t.Fatalf("%s: publish answered %+v", name, pub)
			}
			sent[study]++
			got := receivers[study].waitEvents(t, sent[study])
			last := got[len(got)-1]
			if !bytes.Equal(last.Body, payload) {
				t.Fatalf("%s: receiver got\n%s\nwant the payload byte for byte:\n%s", name, last.Body, payload)
			}
			want := map[string]string{
				"Content-Type":           "application/json; charset=utf-8",
				"User-Agent":             "ActiGraph-Hookshot/1.0",
				"X-Actigraph-Webhook-Id": fmt.Sprint(hooks[study].ID),
				"X-Actigraph-Event":      eventType,
				"X-Actigraph-Delivery":   pub.Deliveries[0].ID,
				"X-Client-Cert-Used":     "False",
			}
			for k, v := range want {
				if got := last.Header.Get(k); got != v {
					t.Errorf("%s: header %s = %q, want %q", name, k, got, v)
				}
			}
			if tp := last.Header.Get("Traceparent"); !regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`).MatchString(tp) {
				t.Errorf("%s: traceparent %q is not W3C trace context", name, tp)
			}
			if last.Header.Get("X-Actigraph-Signature") != "" || last.Header.Get("Authorization") != "" {
				t.Errorf("%s: a webhook without authentication got credentials headers", name)
			}
		}
	})
}

// The header names go out spelt as documented, and branding is a setting.
func TestHeaderPrefixAndUserAgentAreSettings(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_HEADER_PREFIX=X-Acme-", "HOOKSHOT_USER_AGENT=Acme-Hooks/2.0")
		rc := newReceiver(t)
		rc.setValidator(func(w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("X-Acme-Hook-Secret", r.Header.Get("X-Acme-Hook-Secret"))
		})
		hook := h.createWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "auth": map[string]any{"type": "hmac", "secret": "s3cret"}})
		if v := h.waitValidation(t, 189, hook.ID); v.Validation.Status != "passed" {
			t.Fatalf("validation with custom prefix: %s", v.Validation.Status)
		}
		h.publish(t, 189, "upload", uploadPayload(189, "started", 1))
		got := rc.waitEvents(t, 1)[0]
		if got.Header.Get("User-Agent") != "Acme-Hooks/2.0" || got.Header.Get("X-Acme-Event") != "upload" || got.Header.Get("X-Acme-Signature") == "" {
			t.Fatalf("custom branding not applied: %v", got.Header)
		}
		if got.Header.Get("X-Actigraph-Event") != "" {
			t.Fatalf("default prefix still sent: %v", got.Header)
		}
	})
}

// The raw header names on the wire keep the documented capitalisation.
func TestHeaderNamesKeepTheirSpelling(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		names := make(chan []string, 10)
		// httptest servers canonicalise header keys on parsing, so read the
		// raw request line by line from a hijacked connection instead.
		raw := rawReceiver(t, names)
		hook := h.createWebhook(t, 189, hookBody(raw, "upload"))
		h.waitValidation(t, 189, hook.ID)
		select {
		case got := <-names:
			sort.Strings(got)
			joined := strings.Join(got, ",")
			for _, want := range []string{"X-ActiGraph-Webhook-Id", "X-ActiGraph-Event", "X-ActiGraph-Delivery", "X-ActiGraph-Hook-Secret", "X-Client-Cert-Used"} {
				if !strings.Contains(joined, want) {
					t.Errorf("header %s not sent with that spelling; sent %s", want, joined)
				}
			}
		default:
			t.Fatal("the raw receiver saw no request")
		}
	})
}

// The signature is HMAC-SHA256 of the exact body with the secret as key,
// checked by the receiver with its own computation.
func TestHMACSignatureVerifiesAtTheReceiver(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		const secret = "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
			if r.Header.Get("X-ActiGraph-Signature") != want {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		hook := h.validatedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "auth": map[string]any{"type": "hmac", "secret": secret}})
		if _, ok := hook.Auth["secret"]; ok {
			t.Fatalf("the API showed the secret: %v", hook.Auth)
		}
		pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 7))
		d := h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
		if len(d.Attempts) != 1 || d.Attempts[0].Response.Status != http.StatusNoContent {
			t.Fatalf("receiver did not accept the signature: %+v", d.Attempts)
		}
		// The validation request is signed too.
		v := rc.Validations()[0]
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(v.Body)
		if v.Header.Get("X-ActiGraph-Signature") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Fatalf("validation request not signed correctly: %v", v.Header)
		}
		if strings.Contains(h.Logs(), secret) {
			t.Fatal("the secret appears in the logs")
		}
	})
}
