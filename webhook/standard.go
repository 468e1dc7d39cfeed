package webhook

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of format standard, as the Standard Webhooks specification
// spells them. They have no prefix. Go's http.Header canonicalizes them
// (Webhook-Id), which changes nothing: header names are case-insensitive.
const (
	// HeaderStandardID carries the delivery GUID, the same on every
	// attempt of a delivery: deduplicate on it.
	HeaderStandardID = "webhook-id"
	// HeaderStandardTimestamp carries the unix seconds at which the
	// attempt was signed.
	HeaderStandardTimestamp = "webhook-timestamp"
	// HeaderStandardSignature carries space-separated signatures, each
	// "v1,<base64>" (HMAC-SHA256 with a shared whsec_ secret) or
	// "v1a,<base64>" (Ed25519), of "<id>.<timestamp>.<body>". During a
	// rotation there is one for each secret or key.
	HeaderStandardSignature = "webhook-signature"
)

// Signature formats, the values of a webhook's "format" field.
const (
	// FormatActiGraph is base64(HMAC-SHA256(secret, body)) in
	// HeaderSignature, with no timestamp: what ActiGraph CentrePoint's
	// receivers expect, and the default.
	FormatActiGraph = "actigraph"
	// FormatStandard is the Standard Webhooks specification's: the id,
	// the timestamp and the body signed together in
	// HeaderStandardSignature.
	FormatStandard = "standard"
)

const (
	// secretPrefix marks a Standard Webhooks secret, so that it is never
	// mistaken for a password or for another scheme's key.
	secretPrefix = "whsec_"
	// The specification asks for at least 24 random bytes and allows up
	// to 64; NewSecret makes 32, SHA-256's own size.
	minSecretBytes, maxSecretBytes, newSecretBytes = 24, 64, 32
	// maxIDLength bounds webhook-id; Hookshot's are 36-character GUIDs.
	maxIDLength = 256
)

// strictBase64 accepts exactly one encoding of each byte string: padding
// required and unused bits zero.
var strictBase64 = base64.StdEncoding.Strict()

// NewSecret returns a new random shared secret in the Standard Webhooks
// form: "whsec_" and the base64 of 32 bytes from crypto/rand. It serves
// format actigraph too, where the whole string is the HMAC key. It does
// not fail: crypto/rand.Read stops the program rather than return less.
func NewSecret() string {
	key := make([]byte, newSecretBytes)
	_, _ = rand.Read(key)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// CheckStandardSecret reports whether secret can sign and verify in
// format standard: nil, or ErrMalformedSecret wrapped with the reason.
// The error never contains the secret.
func CheckStandardSecret(secret string) error {
	_, err := standardKey(secret)
	return err
}

// standardKey decodes a whsec_ secret into its HMAC key, as the
// specification defines: the bytes after the prefix, base64-decoded.
func standardKey(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it does not start with %q", ErrMalformedSecret, secretPrefix)
	}
	// Go's decoder skips line breaks, even in strict mode; a secret
	// pasted with one is refused rather than read two ways.
	if strings.ContainsAny(encoded, "\r\n") {
		return nil, fmt.Errorf("%w: it contains a line break", ErrMalformedSecret)
	}
	key, err := strictBase64.DecodeString(encoded)
	if err != nil {
		// base64's error gives a position, never the input.
		return nil, fmt.Errorf("%w: the part after %s is not standard padded base64: %v", ErrMalformedSecret, secretPrefix, err)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: it holds %d bytes, not %d to %d", ErrMalformedSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

// SignStandard returns the signature entry of format standard for a
// shared secret: "v1," and the base64 of HMAC-SHA256(key, msgID "."
// timestamp "." body), where key is secret decoded ("whsec_<base64>") and
// timestamp is in unix seconds. msgID is the delivery GUID Hookshot sends
// in HeaderStandardID. It fails with ErrMalformedSecret for a secret that
// CheckStandardSecret refuses, and with an error naming the problem for an
// empty msgID, one with a full stop, space or control character, or a
// timestamp before 1970.
func SignStandard(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := standardKey(secret)
	if err != nil {
		return "", err
	}
	content, err := signedContent(msgID, timestamp, body)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(hmacSum(key, content)), nil
}

// SignEd25519 returns the signature entry of format standard for an
// Ed25519 key: "v1a," and the base64 of the Ed25519 signature of msgID "."
// timestamp "." body, with the timestamp in unix seconds. It fails with
// ErrMalformedKey for a key that is not ed25519.PrivateKeySize bytes, and
// like SignStandard for a bad msgID or timestamp.
func SignEd25519(key ed25519.PrivateKey, msgID string, timestamp time.Time, body []byte) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: a private key is %d bytes (seed and public key), this one %d", ErrMalformedKey, ed25519.PrivateKeySize, len(key))
	}
	content, err := signedContent(msgID, timestamp, body)
	if err != nil {
		return "", err
	}
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, content)), nil
}

// signedContent is what format standard signs: "<id>.<timestamp>.<body>".
func signedContent(msgID string, timestamp time.Time, body []byte) ([]byte, error) {
	if err := checkID(msgID); err != nil {
		return nil, fmt.Errorf("webhook: cannot sign: %w", err)
	}
	unix := timestamp.Unix()
	if unix < 0 {
		return nil, fmt.Errorf("webhook: cannot sign: the timestamp %s is before 1970 (an unset time.Time?)", timestamp.UTC().Format(time.RFC3339))
	}
	return joinContent(msgID, strconv.FormatInt(unix, 10), body), nil
}

func joinContent(id, timestamp string, body []byte) []byte {
	b := make([]byte, 0, len(id)+1+len(timestamp)+1+len(body))
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, timestamp...)
	b = append(b, '.')
	return append(b, body...)
}

// checkID refuses ids that could shift the boundaries of the signed
// content: with a full stop in the id, "a.1" "." "2" "." body and "a" "."
// "1" "." "2.body" would be the same bytes under different timestamps.
func checkID(id string) error {
	if id == "" {
		return fmt.Errorf("the message id is empty")
	}
	if len(id) > maxIDLength {
		return fmt.Errorf("the message id is %d bytes, more than %d", len(id), maxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return fmt.Errorf("the message id has %q at byte %d; it may hold printable ASCII other than space and full stop", id[i:i+1], i)
		}
	}
	return nil
}

// parseTimestamp reads webhook-timestamp: unix seconds in canonical
// decimal, so that the header's text is exactly what was signed.
func parseTimestamp(text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, fmt.Errorf("%w: %s is missing", ErrMalformedHeader, HeaderStandardTimestamp)
	}
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return time.Time{}, fmt.Errorf("%w: %s %.40q is not unix seconds (digits only)", ErrMalformedHeader, HeaderStandardTimestamp, text)
		}
	}
	if len(text) > 1 && text[0] == '0' {
		return time.Time{}, fmt.Errorf("%w: %s %.40q has a leading zero", ErrMalformedHeader, HeaderStandardTimestamp, text)
	}
	unix, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %.40q is out of range", ErrMalformedHeader, HeaderStandardTimestamp, text)
	}
	return time.Unix(unix, 0), nil
}

// maxSignatures bounds the entries of webhook-signature that are looked
// at, so that a stranger cannot make a receiver run Ed25519 thousands of
// times a request. Hookshot sends at most one per secret or key in force,
// two during a rotation.
const maxSignatures = 16

// signatureEntry is one "version,signature" of webhook-signature.
type signatureEntry struct {
	version, signature string
}

// parseSignatures splits webhook-signature into its entries. Entries
// without a comma are skipped, as the specification's own libraries skip
// them, so that a sender may add schemes this package does not know.
func parseSignatures(header string) ([]signatureEntry, error) {
	fields := strings.Fields(header)
	if len(fields) > maxSignatures {
		return nil, fmt.Errorf("%w: %s has %d entries, more than the %d this package looks at", ErrMalformedHeader, HeaderStandardSignature, len(fields), maxSignatures)
	}
	entries := make([]signatureEntry, 0, len(fields))
	for _, field := range fields {
		version, signature, ok := strings.Cut(field, ",")
		if !ok || signature == "" {
			continue
		}
		entries = append(entries, signatureEntry{version, signature})
	}
	return entries, nil
}

func hmacSum(key, message []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(message)
	return mac.Sum(nil)
}
