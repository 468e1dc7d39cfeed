package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

// Overlaps of SPEC §16: how long a replaced secret or key still signs.
const (
	// DefaultOverlap applies when a rotation names none: a day, long
	// enough for receivers to deploy the new secret.
	DefaultOverlap = 24 * time.Hour
	// MaxOverlap bounds how long an old secret or key stays valid.
	MaxOverlap = 30 * 24 * time.Hour
)

// ParseOverlap reads a rotation's overlap, a Go duration such as "24h" or
// "90s"; "" is DefaultOverlap and "0s" ends the old secret or key at once.
// A bad one is EInvalid naming the field "overlap".
func ParseOverlap(text string) (time.Duration, error) {
	if strings.TrimSpace(text) == "" {
		return DefaultOverlap, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(text))
	bad := func(msg string) error {
		return hookshot.Invalid("overlap "+msg+".", hookshot.FieldError{Field: "overlap", Message: msg})
	}
	switch {
	case err != nil:
		return 0, bad(fmt.Sprintf("%q is not a duration; write it like 24h, 90m or 30s", text))
	case d < 0:
		return 0, bad("must not be negative")
	case d > MaxOverlap:
		return 0, bad(fmt.Sprintf("is longer than the most allowed, %s (30 days)", MaxOverlap))
	}
	return d, nil
}

func checkFormat(format string) []hookshot.FieldError {
	switch format {
	case webhook.FormatActiGraph, webhook.FormatStandard:
		return nil
	}
	return []hookshot.FieldError{{Field: "format", Message: fmt.Sprintf("%q is not a signature format; use actigraph (the default: X-ActiGraph-Signature over the body) or standard (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)", format)}}
}

// checkAuthFormat checks that the authentication fits the format: ed25519
// signs in format standard only, and format standard signs with a whsec_
// secret. generated tells a secret Hookshot made, which needs no check.
func checkAuthFormat(authType hookshot.AuthType, format, secret string, generated bool) []hookshot.FieldError {
	switch {
	case authType == hookshot.AuthEd25519 && format != webhook.FormatStandard:
		return []hookshot.FieldError{{Field: "auth.type", Message: "ed25519 signs in format standard only (the v1a signatures of Standard Webhooks); set format to standard"}}
	case authType == hookshot.AuthHMAC && format == webhook.FormatStandard && secret != "" && !generated:
		if err := webhook.CheckStandardSecret(secret); err != nil {
			return []hookshot.FieldError{{Field: "auth.secret", Message: "must be a Standard Webhooks secret in format standard: " +
				strings.TrimPrefix(err.Error(), "webhook: ") + ". Leave it out when creating the webhook to have one generated, or rotate the secret (rotate-secret generates one) before changing the format"}}
		}
	}
	return nil
}

// newSigningKey makes a fresh Ed25519 key for a study, sealed.
func (s *Webhooks) newSigningKey(studyID int64) (*hookshot.SigningKey, error) {
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a signing key: %w", err)
	}
	sealed, err := s.sealer.SealPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("sealing a signing key: %w", err)
	}
	return &hookshot.SigningKey{ID: hookshot.KeyID(public), StudyID: studyID, PublicKey: public, SealedPrivateKey: sealed, CreatedAt: s.clock.Now()}, nil
}

// ensureSigningKey gives the study its first signing key when it has
// none: keys are made when a webhook first needs one.
func (s *Webhooks) ensureSigningKey(ctx context.Context, studyID int64) (*hookshot.SigningKey, error) {
	keys, err := s.store.SigningKeys(ctx, studyID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ExpiresAt == nil {
			return k, nil
		}
	}
	k, err := s.newSigningKey(studyID)
	if err != nil {
		return nil, err
	}
	return s.store.EnsureSigningKey(ctx, k)
}

// RotateSecret replaces an hmac webhook's shared secret with secret, or
// with a generated one when secret is "", which it returns to be shown
// once. The replaced secret keeps signing for overlap (SPEC §16): in
// format standard both signatures are sent; in format actigraph
// X-ActiGraph-Signature keeps the old secret's and
// X-ActiGraph-Signature-Next carries the new one's. No validation runs:
// the receiver's endpoint has not changed. A second rotation during an
// overlap ends it: the secret being replaced becomes the previous one.
// Errors: ENotFound, EInvalid (not hmac, a bad secret) with nothing
// changed.
func (s *Webhooks) RotateSecret(ctx context.Context, p *hookshot.Principal, studyID, id int64, secret string, overlap time.Duration) (*hookshot.Webhook, string, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, "", err
	}
	w, err := findWebhook(ctx, s.store, studyID, id)
	if err != nil {
		return nil, "", err
	}
	if w.Auth.Type != hookshot.AuthHMAC {
		hint := "set auth to hmac with a secret first"
		if w.Auth.Type == hookshot.AuthEd25519 {
			hint = "it signs with the study's Ed25519 key: rotate that with POST /v1/studies/" + fmt.Sprint(studyID) + "/signing-keys/rotate"
		}
		return nil, "", hookshot.Invalid(fmt.Sprintf("Webhook %d has %s authentication, which has no shared secret to rotate; %s.", id, w.Auth.Type, hint),
			hookshot.FieldError{Field: "auth.type", Message: "is " + string(w.Auth.Type) + ", not hmac"})
	}
	if overlap < 0 || overlap > MaxOverlap {
		return nil, "", hookshot.Invalid("overlap is out of range.", hookshot.FieldError{Field: "overlap", Message: fmt.Sprintf("must be between 0s and %s", MaxOverlap)})
	}
	generated := ""
	if secret == "" {
		generated = webhook.NewSecret()
		secret = generated
	}
	stored, err := s.sealer.Open(w.SealedCredentials)
	if err != nil {
		return nil, "", fmt.Errorf("opening credentials of webhook %d: %w", w.ID, err)
	}
	problems := checkText("secret", secret, maxAuthFieldLength)
	switch {
	case len(problems) > 0:
	case secret == stored.Secret:
		problems = append(problems, hookshot.FieldError{Field: "secret", Message: "is the secret the webhook has now; give a new one, or leave it out to have one generated"})
	}
	if w.Format == webhook.FormatStandard && generated == "" {
		if err := webhook.CheckStandardSecret(secret); err != nil {
			problems = append(problems, hookshot.FieldError{Field: "secret", Message: "must be a Standard Webhooks secret in format standard: " + strings.TrimPrefix(err.Error(), "webhook: ") + ". Leave it out to have one generated"})
		}
	}
	if len(problems) > 0 {
		return nil, "", hookshot.Invalid("The secret was not rotated: "+summary(problems), problems...)
	}

	now := s.clock.Now()
	creds := stored
	creds.PreviousSecret, creds.Secret = stored.Secret, secret
	until := now.Add(overlap)
	w.PreviousSecretUntil = &until
	if overlap == 0 {
		creds.PreviousSecret, w.PreviousSecretUntil = "", nil
	}
	sealed, err := s.sealer.Seal(creds)
	if err != nil {
		return nil, "", fmt.Errorf("sealing credentials: %w", err)
	}
	w.SealedCredentials = sealed
	w.UpdatedAt = now
	detail := "overlap " + overlap.String()
	if generated != "" {
		detail += ", secret generated"
	}
	if err := s.store.UpdateWebhook(ctx, w, nil, s.entry(p, hookshot.AuditSecretRotated, studyID, webhookTarget(id), detail)); err != nil {
		return nil, "", err
	}
	return w, generated, nil
}

// RotateSigningKey adds a new Ed25519 signing key to the study; the
// current one keeps signing, and stays in the JWKS, for overlap. A study
// without a key gets its first. It returns the keys now in force, newest
// first. The study's managers and admins may rotate.
func (s *Webhooks) RotateSigningKey(ctx context.Context, p *hookshot.Principal, studyID int64, overlap time.Duration) ([]*hookshot.SigningKey, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	if overlap < 0 || overlap > MaxOverlap {
		return nil, hookshot.Invalid("overlap is out of range.", hookshot.FieldError{Field: "overlap", Message: fmt.Sprintf("must be between 0s and %s", MaxOverlap)})
	}
	k, err := s.newSigningKey(studyID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	e := s.entry(p, hookshot.AuditSigningKeyRotated, studyID, "signing key "+k.ID, "overlap "+overlap.String())
	if err := s.store.RotateSigningKey(ctx, k, now, now.Add(overlap), e); err != nil {
		return nil, err
	}
	return s.store.SigningKeys(ctx, studyID, now)
}

// SigningKeys returns the study's public signing keys in force, newest
// first, for its JWKS. They are public: anyone may read them.
func (s *Webhooks) SigningKeys(ctx context.Context, studyID int64) ([]*hookshot.SigningKey, error) {
	return s.store.SigningKeys(ctx, studyID, s.clock.Now())
}
