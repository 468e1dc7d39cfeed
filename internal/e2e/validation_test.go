package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestValidationHandshake(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))

		t.Run("passes when the code is echoed with 200", func(t *testing.T) {
			rc := newReceiver(t)
			hook := h.createWebhook(t, 189, hookBody(rc.URL, "upload"))
			if hook.Validation.Status != "pending" || hook.Validation.DeliveryID == nil {
				t.Fatalf("a new webhook's validation is %+v, want pending with a delivery", hook.Validation)
			}
			hook = h.waitValidation(t, 189, hook.ID)
			if hook.Validation.Status != "passed" || hook.Validation.CheckedAt == nil {
				t.Fatalf("validation %+v", hook.Validation)
			}
			v := rc.Validations()
			if len(v) != 1 {
				t.Fatalf("%d validation requests, want 1", len(v))
			}
			var body struct{ WebhookId, ValidationCode string }
			if err := json.Unmarshal(v[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.WebhookId != itoa(hook.ID) || body.ValidationCode == "" || body.ValidationCode != v[0].Header.Get("X-ActiGraph-Hook-Secret") {
				t.Fatalf("validation body %s with code header %q", v[0].Body, v[0].Header.Get("X-ActiGraph-Hook-Secret"))
			}
			if string(v[0].Body) != `{"WebhookId":"`+itoa(hook.ID)+`","ValidationCode":"`+body.ValidationCode+`"}` {
				t.Fatalf("validation body %s is not in the documented form", v[0].Body)
			}
			if v[0].Header.Get("X-ActiGraph-Event") != "validation" || v[0].Header.Get("X-ActiGraph-Delivery") != *hook.Validation.DeliveryID {
				t.Fatalf("validation headers %v", v[0].Header)
			}
			// The validation delivery is among the webhook's deliveries.
			var list listJSON[deliveryJSON]
			h.call("GET", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/deliveries?event=validation", nil).must(t, 200).JSON(t, &list)
			if len(list.Items) != 1 || list.Items[0].ID != *hook.Validation.DeliveryID || list.Items[0].Status != "succeeded" {
				t.Fatalf("validation deliveries %+v", list.Items)
			}
		})

		fails := map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
			"no echo": func(w http.ResponseWriter, r *http.Request, body []byte) { w.WriteHeader(200) },
			"wrong code": func(w http.ResponseWriter, r *http.Request, body []byte) {
				w.Header().Set("X-ActiGraph-Hook-Secret", "nope")
				w.WriteHeader(200)
			},
			"non-200": func(w http.ResponseWriter, r *http.Request, body []byte) {
				w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
				w.WriteHeader(http.StatusAccepted)
			},
		}
		for name, answer := range fails {
			t.Run("fails on "+name, func(t *testing.T) {
				rc := newReceiver(t)
				rc.setValidator(answer)
				hook := h.createWebhook(t, 189, hookBody(rc.URL, "upload"))
				hook = h.waitValidation(t, 189, hook.ID)
				if hook.Validation.Status != "failed" {
					t.Fatalf("validation %s, want failed", hook.Validation.Status)
				}
				d := h.delivery(t, 189, hook.ID, *hook.Validation.DeliveryID)
				if d.Status != "failed" || len(d.Attempts) != 1 || d.Attempts[0].Error == nil || !strings.Contains(*d.Attempts[0].Error, "validation failed") {
					t.Fatalf("validation delivery %+v", d)
				}
				// Not validated: gets no events.
				pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 1))
				for _, d := range pub.Deliveries {
					if d.WebhookID == hook.ID {
						t.Fatal("an unvalidated webhook was given a delivery")
					}
				}
				// The receiver is fixed; asking again passes.
				rc.setValidator(nil)
				h.call("POST", "/v1/studies/189/webhooks/"+itoa(hook.ID)+"/validate", nil).must(t, http.StatusAccepted)
				if h.waitValidation(t, 189, hook.ID).Validation.Status != "passed" {
					t.Fatal("validation on request did not pass")
				}
			})
		}

		t.Run("re-runs after an edit of URL or credentials, not of events", func(t *testing.T) {
			rc := newReceiver(t)
			hook := h.validatedWebhook(t, 189, map[string]any{"url": rc.URL, "events": []string{"upload"}, "auth": map[string]any{"type": "hmac", "secret": "one"}})
			path := "/v1/studies/189/webhooks/" + itoa(hook.ID)

			h.call("PATCH", path, map[string]any{"events": []string{"upload", "raw_processing_complete"}}).must(t, 200)
			if w := h.webhook(t, 189, hook.ID); w.Validation.Status != "passed" || len(rc.Validations()) != 1 {
				t.Fatalf("changing events re-validated: %+v, %d requests", w.Validation, len(rc.Validations()))
			}

			other := newReceiver(t)
			var w webhookJSON
			h.call("PATCH", path, map[string]any{"url": other.URL + "/new"}).must(t, 200).JSON(t, &w)
			if w.Validation.Status != "pending" {
				t.Fatalf("after a URL change validation is %s, want pending", w.Validation.Status)
			}
			if h.waitValidation(t, 189, hook.ID).Validation.Status != "passed" || len(other.Validations()) != 1 {
				t.Fatal("the new URL was not validated")
			}

			h.call("PATCH", path, map[string]any{"auth": map[string]any{"type": "hmac", "secret": "two"}}).must(t, 200)
			if h.waitValidation(t, 189, hook.ID).Validation.Status != "passed" || len(other.Validations()) != 2 {
				t.Fatal("a credential change did not re-validate")
			}

			h.call("PATCH", path, map[string]any{"auth": map[string]any{"type": "none"}}).must(t, 200)
			if h.waitValidation(t, 189, hook.ID).Validation.Status != "passed" || len(other.Validations()) != 3 {
				t.Fatal("an auth type change did not re-validate")
			}
		})
	})
}
