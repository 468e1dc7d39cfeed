// Package webhook is for Go programs that receive Hookshot webhooks. It
// checks signatures, answers the validation handshake and names the
// headers. It uses the standard library only, so importing it adds nothing
// else to a receiver's build.
//
// # What a receiver gets
//
// Hookshot POSTs each event to the webhook's URL with the producer's JSON
// payload as the body, byte for byte, and these headers (with the default
// prefix):
//
//	X-ActiGraph-Webhook-Id   the webhook id, e.g. 74           (HeaderWebhookID)
//	X-ActiGraph-Event        the event type, or "validation"  (HeaderEvent)
//	X-ActiGraph-Delivery     the delivery GUID                (HeaderDelivery)
//	X-ActiGraph-Signature    HMAC webhooks only               (HeaderSignature)
//	X-Client-Cert-Used       True or False                    (HeaderClientCertUsed)
//
// Basic and OAuth2 webhooks get an Authorization header instead of a
// signature. A delivery succeeds when the receiver answers 2xx within
// Hookshot's timeout (15 s by default); anything else is retried later, and
// redirects are not followed. Delivery is at least once: the same delivery
// may arrive again with the same X-ActiGraph-Delivery, so deduplicate on
// it, and answer quickly, doing slow work after answering.
//
// # The handshake
//
// A webhook receives events only after it passes validation: Hookshot
// sends a request with X-ActiGraph-Event: validation and a code in
// X-ActiGraph-Hook-Secret, and the receiver answers 200 with the same code
// in its own X-ActiGraph-Hook-Secret header. AnswerValidation does that.
//
// # A complete receiver
//
// For a webhook with HMAC authentication whose secret is in WEBHOOK_SECRET:
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
//		secret := os.Getenv("WEBHOOK_SECRET")
//		http.HandleFunc("POST /hooks", func(w http.ResponseWriter, r *http.Request) {
//			// Validation requests are signed too: verify everything first.
//			body, err := webhook.VerifyRequest(r, secret)
//			if err != nil {
//				http.Error(w, "bad signature", http.StatusUnauthorized)
//				return
//			}
//			if webhook.AnswerValidation(w, r) {
//				return
//			}
//			delivery := r.Header.Get(webhook.HeaderDelivery)
//			event := r.Header.Get(webhook.HeaderEvent)
//			log.Printf("delivery %s: %s, %d bytes", delivery, event, len(body))
//			// Record the delivery id and queue the work, then answer.
//			w.WriteHeader(http.StatusNoContent)
//		})
//		// Hookshot sends only to https:// URLs unless its operator allows http.
//		log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", nil))
//	}
package webhook
