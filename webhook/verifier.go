package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultTolerance is how far a request's webhook-timestamp may lie from
// the receiver's clock, in either direction, unless Verifier.Tolerance
// says otherwise. Hookshot signs each attempt when it sends it, so only a
// replayed request, a wrong clock or a very slow network goes past it.
const DefaultTolerance = 5 * time.Minute

// DefaultHeaderPrefix is the prefix of Hookshot's own headers unless its
// operator chose another (HOOKSHOT_HEADER_PREFIX).
const DefaultHeaderPrefix = "X-ActiGraph-"

// A Verifier checks that requests come from Hookshot, in either signature
// format, against every secret and key the receiver trusts at the moment.
// During a rotation, list the old and the new secret (or both keys of the
// JWKS); afterwards, only the new one. The zero value verifies nothing:
// give it at least one secret or key. A Verifier is safe for concurrent
// use as long as its fields are not changed; to change them, build a new
// one and swap it in.
type Verifier struct {
	// Secrets are the webhook's shared secrets as Hookshot showed them.
	// In format actigraph the whole string, as UTF-8, is the HMAC key; in
	// format standard only the secrets that start with "whsec_" count,
	// decoded as the specification says (a malformed one is an error).
	// Empty strings are ignored.
	Secrets []string
	// Keys are Ed25519 public keys, usually the study's JWKS read with
	// ParseJWKS, for webhooks with authentication ed25519 (format
	// standard only).
	Keys []PublicKey
	// Format is FormatActiGraph or FormatStandard to accept that format
	// only, or "" to accept either, chosen by the request's headers
	// (webhook-signature means standard). Set FormatStandard to get replay
	// protection: format actigraph signs no timestamp, so a request in it
	// can be replayed at any time.
	Format string
	// Tolerance is how far webhook-timestamp may lie from Now, in either
	// direction; zero means DefaultTolerance.
	Tolerance time.Duration
	// HeaderPrefix is the prefix of Hookshot's own headers
	// (X-ActiGraph-Signature, X-ActiGraph-Signature-Next); "" means
	// DefaultHeaderPrefix. The headers of format standard have none.
	HeaderPrefix string
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Verify checks header and body: nil when a signature in them matches
// one of the Verifier's secrets or keys and, in format standard, the
// timestamp is within the tolerance. Otherwise it returns, wrapped with
// details: ErrMissingSignature (no signature in an accepted format),
// ErrNoSecret (no secret or key that applies to the request's format),
// ErrMalformedHeader, ErrMalformedSecret or ErrMalformedKey (unusable
// headers or configuration), ErrInvalidSignature (nothing matches), or
// ErrTimestampOutsideTolerance (a genuine signature, but too old or too
// new: a replay). The signature is checked before the timestamp, so that
// last error means the request was signed with the webhook's secret.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	format, err := v.detect(header)
	if err != nil {
		return err
	}
	return v.verify(format, header, body)
}

// VerifyRequest reads r's body, at most MaxBodySize bytes, checks it with
// Verify, and returns it. It returns Verify's errors, ErrBodyTooLarge, or a
// wrapped read error. A request with no signature in an accepted format is
// refused before its body is read.
//
// The signature covers the body byte for byte, so parse the returned bytes
// and never a re-encoding of them. r.Body is replaced with a reader over
// the same bytes, so later handlers can read it again.
func (v *Verifier) VerifyRequest(r *http.Request) ([]byte, error) {
	format, err := v.detect(r.Header)
	if err != nil {
		return nil, err
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
	if err := v.verify(format, r.Header, body); err != nil {
		return nil, err
	}
	return body, nil
}

func (v *Verifier) prefix() string {
	if v.HeaderPrefix == "" {
		return DefaultHeaderPrefix
	}
	return v.HeaderPrefix
}

// detect chooses the format from the headers alone, so that an unsigned
// request is refused before its body is read.
func (v *Verifier) detect(header http.Header) (string, error) {
	signature, next := v.prefix()+"Signature", v.prefix()+"Signature-Next"
	standard := header.Get(HeaderStandardSignature) != ""
	actigraph := header.Get(signature) != "" || header.Get(next) != ""
	switch v.Format {
	case "":
		// Standard first: it is the stronger of the two, so a request
		// that carries both is held to the timestamp.
		if standard {
			return FormatStandard, nil
		}
		if actigraph {
			return FormatActiGraph, nil
		}
		return "", fmt.Errorf("%w: it has no %s, %s or %s header", ErrMissingSignature, HeaderStandardSignature, signature, next)
	case FormatStandard, FormatActiGraph:
		present, names, other, otherFormat := standard, HeaderStandardSignature, actigraph, FormatActiGraph
		if v.Format == FormatActiGraph {
			present, names, other, otherFormat = actigraph, signature+" or "+next, standard, FormatStandard
		}
		if present {
			return v.Format, nil
		}
		hint := ""
		if other {
			hint = "; it is signed in format " + otherFormat + ": is that the webhook's format?"
		}
		return "", fmt.Errorf("%w: it has no %s header, and this Verifier accepts format %s only%s", ErrMissingSignature, names, v.Format, hint)
	default:
		return "", fmt.Errorf("webhook: Verifier.Format is %q; set %q, %q, or \"\" for either", v.Format, FormatActiGraph, FormatStandard)
	}
}

func (v *Verifier) verify(format string, header http.Header, body []byte) error {
	if format == FormatStandard {
		return v.verifyStandard(header, body)
	}
	return v.verifyActiGraph(header, body)
}

func (v *Verifier) verifyActiGraph(header http.Header, body []byte) error {
	var signatures []string
	for _, name := range []string{v.prefix() + "Signature", v.prefix() + "Signature-Next"} {
		if s := header.Get(name); s != "" {
			signatures = append(signatures, s)
		}
	}
	var secrets []string
	for _, s := range v.Secrets {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return fmt.Errorf("%w: the request is in format actigraph, and the Verifier has no non-empty secret", ErrNoSecret)
	}
	if err := matchActiGraph(secrets, body, signatures); err != nil {
		return fmt.Errorf("%w: %s checked against %s", err, plural(len(signatures), "signature"), plural(len(secrets), "secret"))
	}
	return nil
}

func (v *Verifier) verifyStandard(header http.Header, body []byte) error {
	tolerance := v.Tolerance
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance < 0 {
		return fmt.Errorf("webhook: Verifier.Tolerance is negative (%s); set a positive duration, or zero for %s", tolerance, DefaultTolerance)
	}
	secrets, keys, err := v.standardKeys()
	if err != nil {
		return err
	}

	signatureHeader := header.Get(HeaderStandardSignature)
	if signatureHeader == "" {
		return fmt.Errorf("%w: it has no %s header", ErrMissingSignature, HeaderStandardSignature)
	}
	id := header.Get(HeaderStandardID)
	if id == "" {
		return fmt.Errorf("%w: %s without %s", ErrMalformedHeader, HeaderStandardSignature, HeaderStandardID)
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformedHeader, HeaderStandardID, err)
	}
	timestampText := header.Get(HeaderStandardTimestamp)
	if timestampText == "" {
		return fmt.Errorf("%w: %s without %s", ErrMalformedHeader, HeaderStandardSignature, HeaderStandardTimestamp)
	}
	timestamp, err := parseTimestamp(timestampText)
	if err != nil {
		return err
	}
	entries, err := parseSignatures(signatureHeader)
	if err != nil {
		return err
	}
	if len(secrets)+len(keys) == 0 {
		return fmt.Errorf("%w: the request is in format standard, which verifies with whsec_ secrets or Ed25519 keys, and the Verifier has neither (%s, none starting with %s)", ErrNoSecret, plural(len(v.Secrets), "secret"), secretPrefix)
	}

	if !matchStandard(entries, joinContent(id, timestampText, body), secrets, keys) {
		return fmt.Errorf("%w: %s", ErrInvalidSignature, describeMismatch(entries, len(secrets), len(keys)))
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	switch age := now().Sub(timestamp); {
	case age > tolerance:
		return fmt.Errorf("%w: signed %s ago, and the tolerance is %s", ErrTimestampOutsideTolerance, age.Round(time.Second), tolerance)
	case age < -tolerance:
		return fmt.Errorf("%w: signed %s in the future, and the tolerance is %s", ErrTimestampOutsideTolerance, (-age).Round(time.Second), tolerance)
	}
	return nil
}

// standardKeys returns the HMAC keys of the whsec_ secrets and the
// Ed25519 keys, refusing malformed ones: a secret that looks like a
// Standard Webhooks secret but is not one is a mistake to report, not to
// skip.
func (v *Verifier) standardKeys() ([][]byte, []ed25519.PublicKey, error) {
	var secrets [][]byte
	for i, s := range v.Secrets {
		if !strings.HasPrefix(s, secretPrefix) {
			continue
		}
		key, err := standardKey(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (Verifier.Secrets[%d])", err, i)
		}
		secrets = append(secrets, key)
	}
	var keys []ed25519.PublicKey
	for i, k := range v.Keys {
		if len(k.Key) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("%w: Verifier.Keys[%d] (kid %q) is %d bytes, not %d", ErrMalformedKey, i, k.ID, len(k.Key), ed25519.PublicKeySize)
		}
		keys = append(keys, k.Key)
	}
	return secrets, keys, nil
}

// matchStandard reports whether any entry is a valid signature of message
// under any of the secrets (v1) or keys (v1a). Entries of other versions
// are skipped, as the specification asks, so that a sender may add
// schemes.
func matchStandard(entries []signatureEntry, message []byte, secrets [][]byte, keys []ed25519.PublicKey) bool {
	want := make([][]byte, len(secrets))
	for i, key := range secrets {
		want[i] = []byte(base64.StdEncoding.EncodeToString(hmacSum(key, message)))
	}
	for _, e := range entries {
		switch e.version {
		case "v1":
			for _, w := range want {
				if hmac.Equal(w, []byte(e.signature)) {
					return true
				}
			}
		case "v1a":
			if len(keys) == 0 {
				continue
			}
			signature, err := strictBase64.DecodeString(e.signature)
			if err != nil || len(signature) != ed25519.SignatureSize {
				continue
			}
			for _, key := range keys {
				if ed25519.Verify(key, message, signature) {
					return true
				}
			}
		}
	}
	return false
}

// describeMismatch says what was compared, and what was missing when the
// request's signatures and the Verifier's keys are of different kinds.
func describeMismatch(entries []signatureEntry, secrets, keys int) string {
	var v1, v1a int
	for _, e := range entries {
		switch e.version {
		case "v1":
			v1++
		case "v1a":
			v1a++
		}
	}
	s := fmt.Sprintf("%s has %d v1 and %d v1a entries, checked against %s and %s",
		HeaderStandardSignature, v1, v1a, plural(secrets, "whsec_ secret"), plural(keys, "Ed25519 key"))
	switch {
	case v1 > 0 && v1a == 0 && secrets == 0:
		s += "; the request is signed with a shared secret (v1), and the Verifier has no whsec_ secret"
	case v1a > 0 && v1 == 0 && keys == 0:
		s += "; the request is signed with Ed25519 (v1a), and the Verifier has no key"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
