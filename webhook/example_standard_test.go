package webhook_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

// The Standard Webhooks project's published test vector.
func ExampleSignStandard() {
	signature, err := webhook.SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(signature, err)
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= <nil>
}

// The Ed25519 test vector of the Standard Webhooks project's Go library.
func ExampleSignEd25519() {
	seed, _ := base64.StdEncoding.DecodeString("VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=")
	key := ed25519.NewKeyFromSeed(seed)
	signature, err := webhook.SignEd25519(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(signature, err)
	// Output: v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag== <nil>
}

func ExampleNewSecret() {
	secret := webhook.NewSecret()
	fmt.Println(secret[:6], len(secret), webhook.CheckStandardSecret(secret))
	// Output: whsec_ 50 <nil>
}

func ExampleCheckStandardSecret() {
	fmt.Println(webhook.CheckStandardSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	fmt.Println(webhook.CheckStandardSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
	fmt.Println(webhook.CheckStandardSecret("whsec_c2hvcnQ="))
	// Output:
	// <nil>
	// webhook: the secret is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes): it does not start with "whsec_"
	// webhook: the secret is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes): it holds 5 bytes, not 24 to 64
}

// A receiver through a rotation of its webhook's secret in format
// standard, and a replay of a captured request an hour later.
func ExampleVerifier() {
	oldSecret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	newSecret := "whsec_YSBuZXcgc2VjcmV0LCB0aGlydHktdHdvIGJ5dGVzLi4="
	body := []byte(`{"status":"completed","studyId":"189"}`)
	sent := time.Unix(1800000000, 0)

	// What Hookshot sends: one signature for each secret in force.
	request := func(secrets ...string) http.Header {
		var signatures []string
		for _, s := range secrets {
			signature, _ := webhook.SignStandard(s, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", sent, body)
			signatures = append(signatures, signature)
		}
		h := http.Header{}
		h.Set(webhook.HeaderStandardID, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6")
		h.Set(webhook.HeaderStandardTimestamp, strconv.FormatInt(sent.Unix(), 10))
		h.Set(webhook.HeaderStandardSignature, strings.Join(signatures, " "))
		return h
	}
	receiver := func(secrets ...string) *webhook.Verifier {
		return &webhook.Verifier{
			Secrets: secrets,
			Format:  webhook.FormatStandard,
			Now:     func() time.Time { return sent.Add(2 * time.Second) },
		}
	}

	fmt.Println("before:", receiver(oldSecret).Verify(request(oldSecret), body))
	fmt.Println("overlap, old secret only:", receiver(oldSecret).Verify(request(oldSecret, newSecret), body))
	fmt.Println("overlap, both secrets:", receiver(oldSecret, newSecret).Verify(request(oldSecret, newSecret), body))
	fmt.Println("after, both secrets:", receiver(oldSecret, newSecret).Verify(request(newSecret), body))
	fmt.Println("after, old secret dropped:", receiver(newSecret).Verify(request(newSecret), body))
	err := receiver(oldSecret).Verify(request(newSecret), body)
	fmt.Println("after, old secret only:", errors.Is(err, webhook.ErrInvalidSignature))

	replay := receiver(newSecret)
	replay.Now = func() time.Time { return sent.Add(time.Hour) }
	err = replay.Verify(request(newSecret), body)
	fmt.Println("replayed:", errors.Is(err, webhook.ErrTimestampOutsideTolerance))
	fmt.Println(err)
	// Output:
	// before: <nil>
	// overlap, old secret only: <nil>
	// overlap, both secrets: <nil>
	// after, both secrets: <nil>
	// after, old secret dropped: <nil>
	// after, old secret only: true
	// replayed: true
	// webhook: the request is signed, but its webhook-timestamp is outside the tolerance: a replayed or delayed request, or a wrong clock: signed 1h0m0s ago, and the tolerance is 5m0s
}

// The same rotation in format actigraph: X-ActiGraph-Signature keeps the
// old secret's signature during the overlap, X-ActiGraph-Signature-Next
// carries the new one's.
func ExampleVerifier_actiGraph() {
	oldSecret, newSecret := "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?", "whsec_YSBuZXcgc2VjcmV0LCB0aGlydHktdHdvIGJ5dGVzLi4="
	body := []byte(`{"Test":"Value"}`)
	overlap := http.Header{}
	overlap.Set(webhook.HeaderSignature, webhook.Sign(oldSecret, body))
	overlap.Set(webhook.HeaderSignatureNext, webhook.Sign(newSecret, body))
	after := http.Header{}
	after.Set(webhook.HeaderSignature, webhook.Sign(newSecret, body))

	for _, secrets := range [][]string{{oldSecret}, {newSecret}, {oldSecret, newSecret}} {
		v := webhook.Verifier{Secrets: secrets, Format: webhook.FormatActiGraph}
		fmt.Printf("%d secret(s): overlap %v, after %v\n", len(secrets), v.Verify(overlap, body) == nil, v.Verify(after, body) == nil)
	}
	// Output:
	// 1 secret(s): overlap true, after false
	// 1 secret(s): overlap true, after true
	// 2 secret(s): overlap true, after true
}

// A receiver of a webhook in format standard, driven here the way
// Hookshot would drive it.
func ExampleVerifier_VerifyRequest() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v := &webhook.Verifier{Secrets: []string{secret}, Format: webhook.FormatStandard}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := v.VerifyRequest(r)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if webhook.AnswerValidation(w, r) {
			return
		}
		// Deduplicate on webhook-id: it stays the same on every attempt.
		fmt.Printf("%s event %s: %s\n", r.Header.Get(webhook.HeaderEvent), r.Header.Get(webhook.HeaderStandardID), body)
		w.WriteHeader(http.StatusNoContent)
	})

	send := func(secret string, at time.Time) int {
		body := `{"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}`
		r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
		signature, _ := webhook.SignStandard(secret, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", at, []byte(body))
		r.Header.Set(webhook.HeaderEvent, "upload")
		r.Header.Set(webhook.HeaderStandardID, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6")
		r.Header.Set(webhook.HeaderStandardTimestamp, strconv.FormatInt(at.Unix(), 10))
		r.Header.Set(webhook.HeaderStandardSignature, signature)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Code
	}
	fmt.Println("signed now:", send(secret, time.Now()))
	fmt.Println("another secret:", send(webhook.NewSecret(), time.Now()))
	fmt.Println("signed yesterday:", send(secret, time.Now().Add(-24*time.Hour)))
	// Output:
	// upload event 0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6: {"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}
	// signed now: 204
	// another secret: 401
	// signed yesterday: 401
}

// The key of RFC 8037's example, as a study's JWKS would hold it, and a
// request signed with its private half.
func ExampleParseJWKS() {
	jwks := `{"keys":[
		{"kty":"RSA","kid":"not-ours","n":"AQAB","e":"AQAB"},
		{"kty":"OKP","crv":"Ed25519","use":"sig","alg":"EdDSA","kid":"2027-01","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}`
	keys, err := webhook.ParseJWKS([]byte(jwks))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(keys), keys[0].ID)

	seed, _ := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	body := []byte(`{"studyId":"189"}`)
	now := time.Now()
	signature, _ := webhook.SignEd25519(ed25519.NewKeyFromSeed(seed), "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", now, body)
	h := http.Header{}
	h.Set(webhook.HeaderStandardID, "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6")
	h.Set(webhook.HeaderStandardTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(webhook.HeaderStandardSignature, signature)
	v := webhook.Verifier{Keys: keys, Format: webhook.FormatStandard}
	fmt.Println(v.Verify(h, body))

	_, err = webhook.ParseJWKS([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"2027-01","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"}]}`))
	fmt.Println(err)
	// Output:
	// 1 2027-01
	// <nil>
	// webhook: the JWKS is malformed: keys[0]: Ed25519 key "2027-01": "x" is not base64url without padding: illegal base64 data at input byte 40
}
