package delivery

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

// studyKeys is a study's keys in force, as a store would give them.
type studyKeys []*hookshot.SigningKey

func (k studyKeys) SigningKeys(context.Context, int64, time.Time) ([]*hookshot.SigningKey, error) {
	return k, nil
}

// seedOpener "opens" a sealed key that is the key's seed in the clear:
// enough to tell which key signed.
type seedOpener struct{}

func (seedOpener) OpenPrivateKey(sealed []byte) (ed25519.PrivateKey, error) {
	return ed25519.NewKeyFromSeed(sealed), nil
}

func newTestKey(t *testing.T) (*hookshot.SigningKey, webhook.PublicKey) {
	t.Helper()
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &hookshot.SigningKey{ID: hookshot.KeyID(public), PublicKey: public, SealedPrivateKey: private.Seed()},
		webhook.PublicKey{ID: hookshot.KeyID(public), Key: public}
}

// Each format and authentication signs so that a receiver that knows the
// old secret, the new one or the keys in force verifies, and one that
// knows neither does not.
func TestSign(t *testing.T) {
	at := time.Unix(1767225600, 0)
	later := at.Add(time.Hour)
	oldKey, oldPublic := newTestKey(t)
	newKey, newPublic := newTestKey(t)
	const oldSecret, newSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	d := &hookshot.Delivery{ID: "0190a3c3-2a4b-7c3d-8e5f-0123456789ab", Event: hookshot.EventUpload}
	body := []byte(`{"status":"completed"}`)
	rotated := hookshot.Credentials{Secret: newSecret, PreviousSecret: oldSecret}

	cases := []struct {
		name    string
		w       hookshot.Webhook
		creds   hookshot.Credentials
		keys    studyKeys
		accept  []webhook.Verifier
		refuse  []webhook.Verifier
		headers []string // present
		absent  []string
	}{
		{
			name:    "actigraph hmac",
			w:       hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, Format: webhook.FormatActiGraph},
			creds:   hookshot.Credentials{Secret: "s3cret"},
			accept:  []webhook.Verifier{{Secrets: []string{"s3cret"}}},
			refuse:  []webhook.Verifier{{Secrets: []string{"other"}}},
			headers: []string{"X-ActiGraph-Signature"},
			absent:  []string{"X-ActiGraph-Signature-Next", webhook.HeaderStandardSignature, webhook.HeaderStandardID},
		},
		{
			name:  "actigraph rotation in its overlap",
			w:     hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, PreviousSecretUntil: &later},
			creds: rotated,
			accept: []webhook.Verifier{{Secrets: []string{oldSecret}}, {Secrets: []string{newSecret}},
				{Secrets: []string{oldSecret, newSecret}}},
			refuse:  []webhook.Verifier{{Secrets: []string{"other"}}},
			headers: []string{"X-ActiGraph-Signature", "X-ActiGraph-Signature-Next"},
		},
		{
			name:    "actigraph rotation after its overlap",
			w:       hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, PreviousSecretUntil: &at},
			creds:   rotated,
			accept:  []webhook.Verifier{{Secrets: []string{newSecret}}},
			refuse:  []webhook.Verifier{{Secrets: []string{oldSecret}}},
			headers: []string{"X-ActiGraph-Signature"},
			absent:  []string{"X-ActiGraph-Signature-Next"},
		},
		{
			name:    "standard hmac",
			w:       hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, Format: webhook.FormatStandard},
			creds:   hookshot.Credentials{Secret: newSecret},
			accept:  []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{newSecret}}},
			refuse:  []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{oldSecret}}},
			headers: []string{webhook.HeaderStandardID, webhook.HeaderStandardTimestamp, webhook.HeaderStandardSignature},
			absent:  []string{"X-ActiGraph-Signature"},
		},
		{
			name:    "standard rotation in its overlap",
			w:       hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, Format: webhook.FormatStandard, PreviousSecretUntil: &later},
			creds:   rotated,
			accept:  []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{oldSecret}}, {Format: webhook.FormatStandard, Secrets: []string{newSecret}}},
			refuse:  []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}},
			headers: []string{webhook.HeaderStandardSignature},
		},
		{
			name:   "standard rotation after its overlap",
			w:      hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, Format: webhook.FormatStandard, PreviousSecretUntil: &at},
			creds:  rotated,
			accept: []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{newSecret}}},
			refuse: []webhook.Verifier{{Format: webhook.FormatStandard, Secrets: []string{oldSecret}}},
		},
		{
			name:   "ed25519 with two keys in force",
			w:      hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthEd25519}, Format: webhook.FormatStandard},
			keys:   studyKeys{newKey, oldKey},
			accept: []webhook.Verifier{{Keys: []webhook.PublicKey{oldPublic}}, {Keys: []webhook.PublicKey{newPublic}}},
			refuse: []webhook.Verifier{{Secrets: []string{newSecret}}},
		},
		{
			name:    "standard without signing",
			w:       hookshot.Webhook{Auth: hookshot.Auth{Type: hookshot.AuthBasic}, Format: webhook.FormatStandard},
			headers: []string{webhook.HeaderStandardID, webhook.HeaderStandardTimestamp},
			absent:  []string{webhook.HeaderStandardSignature, "X-ActiGraph-Signature"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &sender{wire: DefaultWire, opener: noCredentials{}, keys: c.keys, keyOpen: seedOpener{}}
			signed := http.Header{}
			if err := s.sign(t.Context(), d, &c.w, c.creds, body, at, signed); err != nil {
				t.Fatalf("sign: %v", err)
			}
			// The header map is made for headerCount's headers: one it
			// did not count would grow the map on every attempt.
			job := &hookshot.Job{Delivery: d, Webhook: &c.w}
			sent := s.headers(job)
			if err := s.sign(t.Context(), d, &c.w, c.creds, body, at, sent); err != nil {
				t.Fatalf("sign: %v", err)
			}
			if c.w.Auth.Type == hookshot.AuthBasic || c.w.Auth.Type == hookshot.AuthOAuth2 {
				sent["Authorization"] = []string{"redacted"}
			}
			if len(sent) > headerCount(job) {
				t.Errorf("%d headers sent, %d counted by headerCount: %v", len(sent), headerCount(job), sent)
			}
			// As a receiver reads them: spelt as sent, canonical once
			// received.
			header := http.Header{}
			for k, vs := range signed {
				for _, v := range vs {
					header.Add(k, v)
				}
			}
			for _, name := range c.headers {
				if header.Get(name) == "" {
					t.Errorf("no %s in %v", name, header)
				}
			}
			for _, name := range c.absent {
				if header.Get(name) != "" {
					t.Errorf("%s is sent: %v", name, header)
				}
			}
			if c.w.Format == webhook.FormatStandard {
				if got := header.Get(webhook.HeaderStandardID); got != d.ID {
					t.Errorf("webhook-id %q, want the delivery id %q", got, d.ID)
				}
				if got := header.Get(webhook.HeaderStandardTimestamp); got != "1767225600" {
					t.Errorf("webhook-timestamp %q, want the attempt's unix seconds", got)
				}
			}
			for _, v := range c.accept {
				v.Now = func() time.Time { return at }
				if err := v.Verify(header, body); err != nil {
					t.Errorf("a receiver with %d secrets and %d keys refuses: %v", len(v.Secrets), len(v.Keys), err)
				}
			}
			for _, v := range c.refuse {
				v.Now = func() time.Time { return at }
				if err := v.Verify(header, body); err == nil {
					t.Errorf("a receiver with the wrong secrets %v accepts", v.Secrets)
				}
			}
		})
	}
}
