package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hookshot/hookshot/webhook"
)

// The known answer of SPEC §3, which CentrePoint's documentation also gives.
func ExampleSign() {
	fmt.Println(webhook.Sign("B3`MlG4sJR.X^-%w=oG_UrNBEpszl?", []byte(`{"Test":"Value"}`)))
	// Output: Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaQ=
}

func ExampleVerify() {
	secret := "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
	signature := "Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaQ="
	fmt.Println(webhook.Verify(secret, []byte(`{"Test":"Value"}`), signature))
	err := webhook.Verify(secret, []byte(`{"Test":"Forged"}`), signature)
	fmt.Println(errors.Is(err, webhook.ErrInvalidSignature))
	// Output:
	// <nil>
	// true
}

// A receiver's handler, driven here the way Hookshot would drive it: a
// validation request, a signed event, and a forged one.
func ExampleVerifyRequest() {
	const secret = "s3cret"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(r, secret)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if webhook.AnswerValidation(w, r) {
			return
		}
		fmt.Printf("%s event, delivery %s: %s\n", r.Header.Get(webhook.HeaderEvent), r.Header.Get(webhook.HeaderDelivery), body)
		w.WriteHeader(http.StatusNoContent)
	})

	send := func(event, body, signature string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
		r.Header.Set(webhook.HeaderEvent, event)
		r.Header.Set(webhook.HeaderDelivery, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6")
		r.Header.Set(webhook.HeaderSignature, signature)
		if event == webhook.EventValidation {
			r.Header.Set(webhook.HeaderHookSecret, "the-code")
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w
	}

	validation := `{"WebhookId":"74","ValidationCode":"the-code"}`
	w := send(webhook.EventValidation, validation, webhook.Sign(secret, []byte(validation)))
	fmt.Println("validation:", w.Code, w.Header().Get(webhook.HeaderHookSecret))

	event := `{"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}`
	w = send("upload", event, webhook.Sign(secret, []byte(event)))
	fmt.Println("event:", w.Code)

	w = send("upload", event, webhook.Sign("a guess", []byte(event)))
	fmt.Println("forged:", w.Code)
	// Output:
	// validation: 200 the-code
	// upload event, delivery 0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6: {"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}
	// event: 204
	// forged: 401
}

// A receiver of a webhook without HMAC still answers the handshake.
func ExampleAnswerValidation() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if webhook.AnswerValidation(w, r) {
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(`{"WebhookId":"74","ValidationCode":"c0de"}`))
	r.Header.Set(webhook.HeaderEvent, webhook.EventValidation)
	r.Header.Set(webhook.HeaderHookSecret, "c0de")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get(webhook.HeaderHookSecret))
	// Output: 200 c0de
}
