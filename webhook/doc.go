// Package webhook is for Go programs that receive Hookshot webhooks. It
// checks signatures in both of Hookshot's formats, against several
// secrets during a rotation and against Ed25519 keys from a JWKS, refuses
// replays, answers the validation handshake and names the headers. It
// also holds the signing functions Hookshot itself calls, so that signer
// and verifier are one piece of code. It uses the standard library only,
// so importing it adds nothing else to a receiver's build.
//
// # What a receiver gets
//
// Hookshot POSTs each event to the webhook's URL with the producer's JSON
// payload as the body, byte for byte, and these headers (with the default
// prefix):
//
//	X-ActiGraph-Webhook-Id      the webhook id, e.g. 74           (HeaderWebhookID)
//	X-ActiGraph-Event           the event type, or "validation"  (HeaderEvent)
//	X-ActiGraph-Delivery        the delivery GUID                (HeaderDelivery)
//	X-Client-Cert-Used          True or False                    (HeaderClientCertUsed)
//
// and, for webhooks that are signed, the headers of the webhook's format.
// Basic and OAuth2 webhooks get an Authorization header instead. A
// delivery succeeds when the receiver answers 2xx within Hookshot's
// timeout (15 s by default); anything else is retried later, and
// redirects are not followed. Delivery is at least once: the same delivery
// may arrive again with the same X-ActiGraph-Delivery, so deduplicate on
// it, and answer quickly, doing slow work after answering.
//
// # Format actigraph
//
// The default, what receivers written against ActiGraph CentrePoint's
// documentation expect: for HMAC webhooks,
//
//	X-ActiGraph-Signature       base64(HMAC-SHA256(secret, body)) (HeaderSignature)
//	X-ActiGraph-Signature-Next  the same with the new secret, during a rotation (HeaderSignatureNext)
//
// where the key is the secret's UTF-8 bytes, whatever it looks like. Sign
// and Verify compute and check it; VerifyRequest does it for a request.
// It signs no timestamp, so a captured request verifies forever: prefer
// format standard where the receiver can.
//
// # Format standard
//
// The Standard Webhooks specification's (standardwebhooks.com):
//
//	webhook-id         the delivery GUID, the same on every attempt  (HeaderStandardID)
//	webhook-timestamp  unix seconds at which this attempt was signed (HeaderStandardTimestamp)
//	webhook-signature  space-separated signatures                    (HeaderStandardSignature)
//
// Each signature covers "<webhook-id>.<webhook-timestamp>.<body>" and is
// "v1," and the base64 of its HMAC-SHA256 under a shared secret, or "v1a,"
// and the base64 of its Ed25519 signature under the study's signing key.
// A shared secret is "whsec_" and the base64 of its key bytes (NewSecret
// makes 32); the HMAC key is those decoded bytes, not the text. One valid
// signature is enough; entries of versions this package does not know are
// skipped. SignStandard and SignEd25519 compute them, and a Verifier
// checks them; the specification's libraries check the v1 ones too.
//
// # Verifying
//
// A Verifier holds every secret and key the receiver trusts and checks a
// request in the format its headers name, or only in the one its Format
// says:
//
//	v := &webhook.Verifier{
//		Secrets: []string{os.Getenv("WEBHOOK_SECRET"), os.Getenv("WEBHOOK_SECRET_NEXT")},
//		Format:  webhook.FormatStandard,
//	}
//	body, err := v.VerifyRequest(r)
//
// The errors are values to test with errors.Is: ErrMissingSignature,
// ErrInvalidSignature, ErrTimestampOutsideTolerance, ErrNoSecret,
// ErrMalformedHeader, ErrMalformedSecret, ErrMalformedKey and
// ErrBodyTooLarge. Answer all of them with 401 and log them: their
// messages say what was wrong (never with a secret in them), and the
// configuration ones (ErrNoSecret, ErrMalformedSecret, ErrMalformedKey)
// are yours to fix, not the sender's.
//
// # Rotating a shared secret
//
// A webhooks manager rotates a webhook's secret with an overlap, 24 hours
// for example (POST .../webhooks/{id}/rotate-secret, or Details in the
// portal). A generated secret is shown once: keep it. The webhook keeps
// receiving events throughout, without a new validation. As a receiver:
//
//  1. Before: the Verifier holds the old secret.
//  2. When the rotation starts, Hookshot signs every request with both
//     secrets: in format standard, two entries in webhook-signature; in
//     format actigraph, the old secret's signature stays in
//     X-ActiGraph-Signature, where receivers that know only it keep
//     looking, and the new one's goes in X-ActiGraph-Signature-Next. A
//     receiver that has not changed anything still verifies.
//  3. During the overlap, add the new secret beside the old one
//     (Secrets: old, new) and deploy. Both secrets verify from then on,
//     before the overlap ends and after.
//  4. When the overlap has ended, Hookshot signs with the new secret only
//     (in format actigraph, in X-ActiGraph-Signature). Drop the old
//     secret from the Verifier.
//
// Do step 3 before the overlap ends: a receiver that still knows only the
// old secret then refuses every request with ErrInvalidSignature, and the
// deliveries fail and are retried by Hookshot's schedule until it is
// fixed.
//
// # Ed25519 and the JWKS
//
// A webhook with authentication ed25519 (format standard) shares no
// secret: Hookshot signs with the study's private key and publishes the
// public keys as a JSON Web Key Set (RFC 7517; Ed25519 keys per RFC 8037)
// at GET /v1/studies/{study}/jwks.json, readable without a token.
// ParseJWKS reads it into the Keys of a Verifier:
//
//	resp, err := http.Get("https://hookshot.example.org/v1/studies/189/jwks.json")
//	// check err and resp.StatusCode
//	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
//	keys, err := webhook.ParseJWKS(data)
//	v := &webhook.Verifier{Keys: keys, Format: webhook.FormatStandard}
//
// Take the JWKS from the Hookshot you configured, over HTTPS, never from
// an address a request names: whoever chooses the keys chooses what
// verifies. Keys rotate like secrets: during the overlap the JWKS holds
// both keys and every request carries both signatures, so a receiver with
// either key set verifies. Fetch the set again when its Cache-Control
// says, or when a request fails with ErrInvalidSignature (at most, say,
// once a minute, so that forged requests cannot make you fetch it for
// each of them), and swap in a new Verifier.
//
// # Timestamps and replays
//
// In format standard a Verifier refuses a correctly signed request whose
// webhook-timestamp lies more than Tolerance (DefaultTolerance, 5 minutes,
// unless set) from the receiver's clock, in either direction, with
// ErrTimestampOutsideTolerance. The signature is checked first, so that
// error means the request is Hookshot's but old or early: a replay of a
// captured request, a request held up on the way, or a wrong clock on one
// side (keep both synchronized, with NTP). Hookshot signs every attempt
// when it sends it, so retries carry a fresh timestamp and the same
// webhook-id. Within the tolerance, a captured request could still be
// played again: record the webhook-id of each delivery handled, for at
// least twice the tolerance, and ignore one seen before (at-least-once
// delivery asks for that anyway). Format actigraph signs no timestamp and
// cannot be protected this way; set Verifier.Format to FormatStandard so
// that an attacker cannot fall back to it.
//
// # The handshake
//
// A webhook receives events only after it passes validation: Hookshot
// sends a request with X-ActiGraph-Event: validation and a code in
// X-ActiGraph-Hook-Secret, and the receiver answers 200 with the same code
// in its own X-ActiGraph-Hook-Secret header. AnswerValidation does that.
// The request is signed like any other, in the webhook's format.
//
// # A complete receiver
//
// For a webhook in format standard whose secret is in WEBHOOK_SECRET, and
// the new one in WEBHOOK_SECRET_NEXT while a rotation is under way:
//
//	package main
//
//	import (
//		"log"
//		"net/http"
//		"os"
//
//		"github.com/hookshot/hookshot/webhook"
//	)
//
//	func main() {
//		v := &webhook.Verifier{
//			Secrets: []string{os.Getenv("WEBHOOK_SECRET"), os.Getenv("WEBHOOK_SECRET_NEXT")},
//			Format:  webhook.FormatStandard,
//		}
//		http.HandleFunc("POST /hooks", func(w http.ResponseWriter, r *http.Request) {
//			// Validation requests are signed too: verify everything first.
//			body, err := v.VerifyRequest(r)
//			if err != nil {
//				log.Printf("refused a request: %v", err)
//				http.Error(w, "bad signature", http.StatusUnauthorized)
//				return
//			}
//			if webhook.AnswerValidation(w, r) {
//				return
//			}
//			delivery := r.Header.Get(webhook.HeaderStandardID)
//			event := r.Header.Get(webhook.HeaderEvent)
//			log.Printf("delivery %s: %s, %d bytes", delivery, event, len(body))
//			// Record the delivery id and queue the work, then answer.
//			w.WriteHeader(http.StatusNoContent)
//		})
//		// Hookshot sends only to https:// URLs unless its operator allows http.
//		log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", nil))
//	}
//
// For format actigraph with a single secret, webhook.VerifyRequest(r,
// secret) does the same as a Verifier with that secret.
package webhook
