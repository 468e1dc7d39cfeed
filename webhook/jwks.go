package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// PublicKey is an Ed25519 public key that a Verifier trusts, with the key
// id ("kid") it has in the study's JWKS.
type PublicKey struct {
	// ID is the key's "kid", or "" when the JWKS gave none.
	ID string
	// Key is the public key, ed25519.PublicKeySize bytes.
	Key ed25519.PublicKey
}

// ParseJWKS reads a JSON Web Key Set (RFC 7517), such as the one Hookshot
// serves at GET /v1/studies/{study}/jwks.json, and returns its Ed25519
// keys (RFC 8037: "kty" "OKP", "crv" "Ed25519", "x" the key in base64url
// without padding) in the set's order. Keys of other types and curves,
// and keys whose "use" is not "sig", are skipped, so a set may hold keys
// for other purposes; a set with none of ours gives an empty list. A set
// that is not a JSON object with a "keys" array, a key without "kty", and
// an Ed25519 key with a malformed "x", a private part ("d") or an "alg"
// other than EdDSA give ErrMalformedJWKS wrapped with the key's position.
// Read the body with a size limit before calling it.
func ParseJWKS(data []byte) ([]PublicKey, error) {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJWKS, err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("%w: it has no \"keys\" array", ErrMalformedJWKS)
	}
	var keys []PublicKey
	for i, raw := range *set.Keys {
		key, ok, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: keys[%d]: %v", ErrMalformedJWKS, i, err)
		}
		if ok {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// parseJWK returns the key and true for an Ed25519 signing key, false for
// a key of another kind.
func parseJWK(raw json.RawMessage) (PublicKey, bool, error) {
	// The type is read first, alone, so that a key of another type is
	// skipped whatever its other members hold.
	var kind struct {
		Kty *string `json:"kty"`
		Crv string  `json:"crv"`
		Use string  `json:"use"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return PublicKey{}, false, err
	}
	if kind.Kty == nil || *kind.Kty == "" {
		return PublicKey{}, false, fmt.Errorf("no \"kty\"")
	}
	if *kind.Kty != "OKP" || kind.Crv != "Ed25519" || (kind.Use != "" && kind.Use != "sig") {
		return PublicKey{}, false, nil
	}
	var jwk struct {
		Kid string          `json:"kid"`
		X   *string         `json:"x"`
		D   json.RawMessage `json:"d"`
		Alg string          `json:"alg"`
	}
	if err := json.Unmarshal(raw, &jwk); err != nil {
		return PublicKey{}, false, err
	}
	name := "an Ed25519 key"
	if jwk.Kid != "" {
		name = fmt.Sprintf("Ed25519 key %q", jwk.Kid)
	}
	if jwk.D != nil {
		return PublicKey{}, false, fmt.Errorf("%s has a private part (\"d\"); a JWKS for verifying must hold public keys only, and this one's private key is exposed: tell the sender", name)
	}
	// RFC 8037 names the algorithm EdDSA; RFC 9864 adds the fully
	// specified Ed25519.
	if jwk.Alg != "" && jwk.Alg != "EdDSA" && jwk.Alg != "Ed25519" {
		return PublicKey{}, false, fmt.Errorf("%s has \"alg\" %q, not EdDSA", name, jwk.Alg)
	}
	if jwk.X == nil {
		return PublicKey{}, false, fmt.Errorf("%s has no \"x\"", name)
	}
	// As in standardKey: Go's decoder would skip line breaks.
	if strings.ContainsAny(*jwk.X, "\r\n") {
		return PublicKey{}, false, fmt.Errorf("%s: \"x\" contains a line break", name)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(*jwk.X)
	if err != nil {
		return PublicKey{}, false, fmt.Errorf("%s: \"x\" is not base64url without padding: %v", name, err)
	}
	if len(x) != ed25519.PublicKeySize {
		return PublicKey{}, false, fmt.Errorf("%s: \"x\" holds %d bytes, not %d", name, len(x), ed25519.PublicKeySize)
	}
	return PublicKey{ID: jwk.Kid, Key: ed25519.PublicKey(x)}, true, nil
}
