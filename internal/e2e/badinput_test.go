package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Every kind of bad input gets a problem document a person can act on,
// and changes nothing.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_MAX_BODY=4096")
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		hooks := "/v1/studies/189/webhooks"
		one := fmt.Sprintf("%s/%d", hooks, hook.ID)
		events := "/v1/studies/189/events"
		good := uploadPayload(189, "started", 1)

		cases := []struct {
			name, method, path string
			body               any
			token              string
			status             int
			mention            string // the detail or a field must mention this
		}{
			{"malformed JSON", "POST", events, `{"type": "upload", "payload": {`, adminToken, 400, "not valid JSON"},
			{"not an object", "POST", events, `[1,2]`, adminToken, 400, "JSON object"},
			{"empty body", "POST", events, ``, adminToken, 400, "empty"},
			{"unknown field", "POST", events, `{"type":"upload","payload":` + string(good) + `,"extra":1}`, adminToken, 400, "extra"},
			{"unknown event type", "POST", events, publishBody("uploaded", good), adminToken, 422, "upload"},
			{"missing type", "POST", events, `{"payload":` + string(good) + `}`, adminToken, 422, "type"},
			{"missing payload", "POST", events, `{"type":"upload"}`, adminToken, 422, "payload"},
			{"payload failing its schema", "POST", events, publishBody("upload", []byte(`{"status":"finished","uploadId":"1","subjectId":"2","studyId":"189"}`)), adminToken, 422, "status"},
			{"payload missing a field", "POST", events, publishBody("upload", []byte(`{"status":"started","subjectId":"2","studyId":"189"}`)), adminToken, 422, "uploadId"},
			{"study mismatch", "POST", events, publishBody("upload", uploadPayload(190, "started", 1)), adminToken, 422, "190"},
			{"oversized body", "POST", events, publishBody("upload", []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"189","pad":"`+strings.Repeat("x", 5000)+`"}`)), adminToken, 413, "4096"},
			{"bad idempotency key", "POST", events, publishBody("upload", good), adminToken, 422, "Idempotency-Key"},
			{"bad URL", "POST", hooks, map[string]any{"url": "not a url", "events": []string{"upload"}}, adminToken, 422, "url"},
			{"http URL", "POST", hooks, map[string]any{"url": "http://example.com/hook", "events": []string{"upload"}}, adminToken, 422, "HOOKSHOT_ALLOW_HTTP"},
			{"URL with credentials", "POST", hooks, map[string]any{"url": "https://user:pw@example.com/", "events": []string{"upload"}}, adminToken, 422, "url"},
			{"unknown auth type", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"upload"}, "auth": map[string]any{"type": "kerberos"}}, adminToken, 422, "auth.type"},
			{"hmac without secret", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"upload"}, "auth": map[string]any{"type": "hmac"}}, adminToken, 422, "auth.secret"},
			{"basic without password", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"upload"}, "auth": map[string]any{"type": "basic", "username": "u"}}, adminToken, 422, "auth.password"},
			{"oauth2 without client", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"upload"}, "auth": map[string]any{"type": "oauth2", "token_url": "https://example.com/token"}}, adminToken, 422, "auth.client_id"},
			{"no events", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{}}, adminToken, 422, "events"},
			{"unknown event", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"uplaod"}}, adminToken, 422, "events[0]"},
			{"bad upload status option", "POST", hooks, map[string]any{"url": "https://example.com/", "events": []string{"upload"}, "event_options": map[string]any{"upload": map[string]any{"statuses": []string{"done"}}}}, adminToken, 422, "event_options.upload"},
			{"wrong field type", "POST", hooks, `{"url": 5, "events": ["upload"]}`, adminToken, 400, "url"},
			{"bad edit", "PATCH", one, map[string]any{"url": "ftp://example.com"}, adminToken, 422, "url"},
			{"unknown webhook", "GET", hooks + "/999999", nil, adminToken, 404, "999999"},
			{"non-numeric webhook", "GET", hooks + "/abc", nil, adminToken, 404, "abc"},
			{"unknown delivery", "GET", one + "/deliveries/0190a6a4-0000-7000-8000-000000000000", nil, adminToken, 404, "0190a6a4"},
			{"malformed delivery id", "GET", one + "/deliveries/xyz", nil, adminToken, 404, "GUID"},
			{"resend unknown delivery", "POST", one + "/deliveries/0190a6a4-0000-7000-8000-000000000000/resend", nil, adminToken, 404, "0190a6a4"},
			{"bad delivery filter", "GET", one + "/deliveries?status=done", nil, adminToken, 400, "status"},
			{"bad cursor", "GET", one + "/deliveries?cursor=!!", nil, adminToken, 400, "cursor"},
			{"bad limit", "GET", one + "/deliveries?limit=0", nil, adminToken, 400, "limit"},
			{"missing token", "GET", hooks, nil, "", 401, "Bearer"},
			{"wrong token", "GET", hooks, nil, "not-the-token", 401, "token"},
			{"wrong token on publish", "POST", events, publishBody("upload", good), "not-the-token", 401, "token"},
			{"unknown endpoint", "GET", "/v1/nothing", nil, adminToken, 404, "/v1/nothing"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var header []string
				if c.name == "bad idempotency key" {
					header = []string{"Idempotency-Key", strings.Repeat("k", 300)}
				}
				r := h.callAs(c.token, c.method, c.path, c.body, header...)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("Content-Type %q, want application/problem+json", ct)
				}
				var p problemJSON
				if err := json.Unmarshal(r.Body, &p); err != nil {
					t.Fatal(err)
				}
				if p.Status != c.status || p.Title == "" || p.Detail == "" || p.Type == "" {
					t.Fatalf("problem document %s is incomplete", r.Body)
				}
				if !strings.Contains(string(r.Body), c.mention) {
					t.Fatalf("problem %s does not mention %q", r.Body, c.mention)
				}
			})
		}
		// Nothing changed: one webhook, unchanged; no event delivered.
		var list listJSON[webhookJSON]
		h.call("GET", hooks, nil).must(t, http.StatusOK).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].URL != rc.URL || !list.Items[0].Active {
			t.Fatalf("bad input changed the webhooks: %+v", list.Items)
		}
		var ds listJSON[deliveryJSON]
		h.call("GET", one+"/deliveries?event=upload", nil).must(t, http.StatusOK).JSON(t, &ds)
		if len(ds.Items) != 0 || len(rc.Events()) != 0 {
			t.Fatalf("bad input created %d deliveries", len(ds.Items))
		}
	})
}
