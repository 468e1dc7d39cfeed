package hookshot

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// AuthEd25519 signs each request with the study's Ed25519 signing key
// (SPEC §16): nothing is shared with the receiver, which verifies with the
// public keys of the study's JWKS. Format standard only.
const AuthEd25519 AuthType = "ed25519"

// Audit actions of SPEC §16.
const (
	AuditSecretRotated     = "secret_rotated"
	AuditSigningKeyRotated = "signing_key_rotated"
)

// SigningKey is one of a study's Ed25519 keys. A study has one current
// key (ExpiresAt nil); a rotation gives the current one an end and adds a
// new one, and until that end both sign and both are in the JWKS.
type SigningKey struct {
	// ID is the key's "kid": its RFC 7638 JWK thumbprint, so that it
	// names the key itself and cannot be mistaken for another's.
	ID      string
	StudyID int64
	// PublicKey is shown to anyone (the JWKS); SealedPrivateKey is the
	// private key sealed like credentials, opened only to sign.
	PublicKey        ed25519.PublicKey
	SealedPrivateKey []byte
	CreatedAt        time.Time
	// ExpiresAt is when the key stops signing and leaves the JWKS; nil
	// for the current key.
	ExpiresAt *time.Time
}

// InForce reports whether k signs and is published at now.
func (k *SigningKey) InForce(now time.Time) bool {
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// KeyID returns the RFC 7638 thumbprint of an Ed25519 public key: the
// base64url SHA-256 of its JWK's required members in lexical order.
func KeyID(public ed25519.PublicKey) string {
	jwk := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(public) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SigningKeyStore keeps the studies' Ed25519 signing keys. Methods return
// errors only for failures of the store itself.
type SigningKeyStore interface {
	// SigningKeys returns the study's keys in force at now, newest first;
	// none when the study has never needed one.
	SigningKeys(ctx context.Context, studyID int64, now time.Time) ([]*SigningKey, error)
	// EnsureSigningKey stores k as its study's current key unless the
	// study already has a current key, and returns the current key (k or
	// the one that was there). Processes racing to create a study's
	// first key agree on one.
	EnsureSigningKey(ctx context.Context, k *SigningKey) (*SigningKey, error)
	// RotateSigningKey ends the study's current key at until, deletes the
	// study's keys that expired by now, stores k as the current key, and
	// appends e when it is not nil, all in one transaction.
	RotateSigningKey(ctx context.Context, k *SigningKey, now, until time.Time, e *AuditEntry) error
}
