package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
)

// Header names of a Hookshot request, with Hookshot's default prefix
// "X-ActiGraph-", which receivers written against ActiGraph CentrePoint's
// documentation expect. An operator may choose another prefix
// (HOOKSHOT_HEADER_PREFIX); receivers of such a Hookshot read the headers
// by their own names and call Verify directly.
const (
	// HeaderSignature carries base64(HMAC-SHA256(secret, body)) for
	// webhooks with HMAC authentication in format actigraph. During a
	// secret rotation it keeps the old secret's signature until the overlap
	// ends, so receivers that know only the old secret keep working.
	HeaderSignature = "X-ActiGraph-Signature"
	// HeaderSignatureNext carries the new secret's signature during a
	// secret rotation in format actigraph, and is absent otherwise.
	HeaderSignatureNext = "X-ActiGraph-Signature-Next"
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

// Errors of this package's functions; test for them with errors.Is. The
// functions wrap them with the details (which header, how far off), and
// never with a secret.
var (
	// ErrMissingSignature: the request carries no signature, so it did not
	// come from a Hookshot webhook that signs (HMAC or Ed25519), or not in
	// the format the Verifier expects.
	ErrMissingSignature = errors.New("webhook: the request carries no signature")
	// ErrInvalidSignature: no signature matches the body under the
	// secrets and keys given, so the body (or, in format standard, the id
	// or timestamp) was changed, or the secret or key is not the webhook's.
	ErrInvalidSignature = errors.New("webhook: the signature does not match the body and secret")
	// ErrNoSecret: the receiver was given no secret or key to verify
	// with, usually an unset environment variable. Refusing beats
	// accepting bodies that anyone could sign with the empty key.
	ErrNoSecret = errors.New("webhook: no secret to verify with; set the webhook's HMAC secret (or, for Ed25519, the study's keys)")
	// ErrBodyTooLarge: the body exceeds MaxBodySize.
	ErrBodyTooLarge = fmt.Errorf("webhook: the body is larger than %d bytes", MaxBodySize)
	// ErrTimestampOutsideTolerance: a request in format standard is
	// correctly signed, but its webhook-timestamp lies further from now
	// than the Verifier's tolerance. Either it is a replay of a captured
	// request, or it was held up on the way, or one of the two clocks is
	// wrong. Hookshot signs every attempt afresh, so a genuine retry
	// carries a new timestamp.
	ErrTimestampOutsideTolerance = errors.New("webhook: the request is signed, but its " + HeaderStandardTimestamp + " is outside the tolerance: a replayed or delayed request, or a wrong clock")
	// ErrMalformedHeader: a signature header of format standard is
	// present but unusable: webhook-signature without webhook-id or
	// webhook-timestamp, a timestamp that is not unix seconds, an id with
	// a full stop, or far too many signatures.
	ErrMalformedHeader = errors.New("webhook: a signature header is malformed")
	// ErrMalformedSecret: a secret for format standard is not "whsec_"
	// followed by the standard base64 of 24 to 64 random bytes.
	ErrMalformedSecret = errors.New("webhook: the secret is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes)")
	// ErrMalformedKey: an Ed25519 key has the wrong length.
	ErrMalformedKey = errors.New("webhook: the Ed25519 key is malformed")
	// ErrMalformedJWKS: a JWKS is not valid JSON of the shape RFC 7517
	// gives, or one of its Ed25519 keys is malformed.
	ErrMalformedJWKS = errors.New("webhook: the JWKS is malformed")
)

// Sign returns the signature Hookshot sends in HeaderSignature:
// base64(HMAC-SHA256(key = the UTF-8 bytes of secret, message = body)),
// standard base64 with padding.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(hmacSum([]byte(secret), body))
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
	return matchActiGraph([]string{secret}, body, []string{signature})
}

// matchActiGraph reports nil when any of signatures is Sign(secret, body)
// for any of secrets, which must not be empty, and ErrInvalidSignature
// otherwise.
func matchActiGraph(secrets []string, body []byte, signatures []string) error {
	for _, secret := range secrets {
		// Comparing the encoded forms, rather than decoding the header,
		// means exactly one string is accepted: lenient base64 decoding
		// would let variants of a signature through.
		want := []byte(Sign(secret, body))
		for _, signature := range signatures {
			if hmac.Equal(want, []byte(signature)) {
				return nil
			}
		}
	}
	return ErrInvalidSignature
}

// VerifyRequest reads r's body, at most MaxBodySize bytes, checks it
// against secret in format actigraph, and returns the body. Either
// HeaderSignature or HeaderSignatureNext must match, so a receiver that
// has moved to the new secret during a rotation verifies too. It returns
// Verify's errors, ErrBodyTooLarge, or a wrapped read error. For several
// secrets, format standard or Ed25519, use a Verifier.
//
// The signature covers the body byte for byte, so parse the returned bytes
// and never a re-encoding of them. r.Body is replaced with a reader over
// the same bytes, so later handlers can read it again.
func VerifyRequest(r *http.Request, secret string) ([]byte, error) {
	v := Verifier{Secrets: []string{secret}, Format: FormatActiGraph}
	return v.VerifyRequest(r)
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
