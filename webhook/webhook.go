package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Header names of a Hookshot request, with Hookshot's default prefix
// "X-ActiGraph-", which receivers written against ActiGraph CentrePoint's
// documentation expect. An operator may choose another prefix
// (HOOKSHOT_HEADER_PREFIX); receivers of such a Hookshot read the headers
// by their own names and call Verify directly.
const (
	// HeaderSignature carries base64(HMAC-SHA256(secret, body)) for
	// webhooks with HMAC authentication.
	HeaderSignature = "X-ActiGraph-Signature"
	// HeaderEvent carries the event type, or EventValidation.
	HeaderEvent = "X-ActiGraph-Event"
	// HeaderDelivery carries the delivery GUID, the same on every attempt
	// of a delivery: deduplicate on it.
	HeaderDelivery = "X-ActiGraph-Delivery"
	// HeaderWebhookID carries the webhook's id, e.g. "74".
	HeaderWebhookID = "X-ActiGraph-Webhook-Id"
	// HeaderHookSecret carries the validation code of a validation
	// request; the receiver echoes it in a response header of that name.
	HeaderHookSecret = "X-ActiGraph-Hook-Secret"
	// HeaderClientCertUsed is "True" when Hookshot presented a client
	// certificate, else "False". It has no prefix.
	HeaderClientCertUsed = "X-Client-Cert-Used"
)

// EventValidation is the HeaderEvent value of a validation request.
const EventValidation = "validation"

// MaxBodySize is the largest body VerifyRequest reads. It is well above
// what Hookshot sends (a payload must fit Hookshot's own request limit) and
// keeps a stranger from making a receiver buffer without end.
const MaxBodySize = 10 << 20

// Errors of Verify and VerifyRequest; test for them with errors.Is.
var (
	// ErrMissingSignature: the request carries no signature, so it did not
	// come from a Hookshot webhook with HMAC authentication.
	ErrMissingSignature = errors.New("webhook: the request has no " + HeaderSignature + " header")
	// ErrInvalidSignature: the signature does not match the body under
	// the secret, so the body was changed or the secret is not the
	// webhook's.
	ErrInvalidSignature = errors.New("webhook: the signature does not match the body and secret")
	// ErrNoSecret: the receiver was given an empty secret, usually an
	// unset environment variable. Refusing beats accepting bodies that
	// anyone could sign with the empty key.
	ErrNoSecret = errors.New("webhook: no secret to verify with; set the webhook's HMAC secret")
	// ErrBodyTooLarge: the body exceeds MaxBodySize.
	ErrBodyTooLarge = fmt.Errorf("webhook: the body is larger than %d bytes", MaxBodySize)
)

// Sign returns the signature Hookshot sends in HeaderSignature:
// base64(HMAC-SHA256(key = the UTF-8 bytes of secret, message = body)),
// standard base64 with padding.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks that signature is Sign(secret, body). It returns nil when
// it is, ErrMissingSignature for an empty signature, ErrNoSecret for an
// empty secret and ErrInvalidSignature otherwise. The comparison takes the
// same time wherever the strings differ, so timing tells an attacker
// nothing about the right signature.
func Verify(secret string, body []byte, signature string) error {
	if signature == "" {
		return ErrMissingSignature
	}
	if secret == "" {
		return ErrNoSecret
	}
	// Comparing the encoded forms, rather than decoding the header, means
	// exactly one string is accepted: lenient base64 decoding would let
	// variants of a signature through.
	if !hmac.Equal([]byte(Sign(secret, body)), []byte(signature)) {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyRequest reads r's body, at most MaxBodySize bytes, checks its
// HeaderSignature against secret with Verify, and returns the body. It
// returns Verify's errors, ErrBodyTooLarge, or a wrapped read error.
//
// The signature covers the body byte for byte, so parse the returned bytes
// and never a re-encoding of them. r.Body is replaced with a reader over
// the same bytes, so later handlers can read it again.
func VerifyRequest(r *http.Request, secret string) ([]byte, error) {
	signature := r.Header.Get(HeaderSignature)
	if signature == "" {
		// Checked before reading, so unsigned requests cost no buffering.
		return nil, ErrMissingSignature
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: reading the request body: %w", err)
	}
	if len(body) > MaxBodySize {
		return nil, ErrBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := Verify(secret, body, signature); err != nil {
		return nil, err
	}
	return body, nil
}

// ValidationRequest is the body of a validation request:
// {"WebhookId":"74","ValidationCode":"<code>"}. The code is also in
// HeaderHookSecret, which is what AnswerValidation echoes.
type ValidationRequest struct {
	// WebhookID is the webhook's id as a string. Its JSON name,
	// "WebhookId", is CentrePoint's and fixed.
	WebhookID      string `json:"WebhookId"`
	ValidationCode string `json:"ValidationCode"`
}

// IsValidation reports whether r is a validation request, which a webhook
// must answer before it receives events.
func IsValidation(r *http.Request) bool {
	return r.Header.Get(HeaderEvent) == EventValidation
}

// AnswerValidation answers a validation request and reports true: it
// echoes the code of r's HeaderHookSecret in the response header of the
// same name, with status 200. For any other request it writes nothing and
// reports false, so a handler can call it first and go on:
//
//	if webhook.AnswerValidation(w, r) {
//		return
//	}
//
// Validation requests carry the webhook's authentication like any other,
// so verify them first if only your own webhook should pass.
func AnswerValidation(w http.ResponseWriter, r *http.Request) bool {
	if !IsValidation(r) {
		return false
	}
	w.Header().Set(HeaderHookSecret, r.Header.Get(HeaderHookSecret))
	w.WriteHeader(http.StatusOK)
	return true
}
