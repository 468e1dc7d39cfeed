package delivery

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

// SigningKeys gives a study's Ed25519 keys in force at a time, newest
// first (hookshot.SigningKeyStore).
type SigningKeys interface {
	SigningKeys(ctx context.Context, studyID int64, now time.Time) ([]*hookshot.SigningKey, error)
}

// sign adds the signature headers of one attempt (SPEC §3 and §16) to
// header, signed at the attempt's start. A request with neither a shared
// secret nor a key gets no signature; in format standard it still gets
// the id and the timestamp. When signing fails, header is left as it was.
func (s *sender) sign(ctx context.Context, d *hookshot.Delivery, w *hookshot.Webhook, creds hookshot.Credentials, body []byte, at time.Time, header http.Header) error {
	if w.Format != webhook.FormatStandard {
		if w.Auth.Type != hookshot.AuthHMAC {
			return nil
		}
		name := s.wire.HeaderPrefix + "Signature"
		if w.SignsWithPrevious(at) && creds.PreviousSecret != "" {
			// Receivers that know only the old secret keep verifying the
			// header they always read; those that know the new one find
			// it in -Next.
			header[name] = []string{webhook.Sign(creds.PreviousSecret, body)}
			header[name+"-Next"] = []string{webhook.Sign(creds.Secret, body)}
			return nil
		}
		header[name] = []string{webhook.Sign(creds.Secret, body)}
		return nil
	}

	var signature string
	switch w.Auth.Type {
	case hookshot.AuthHMAC:
		entry, err := webhook.SignStandard(creds.Secret, d.ID, at, body)
		if err != nil {
			return fmt.Errorf("cannot sign in format standard: %w (edit the webhook's secret, or rotate it)", err)
		}
		signature = entry
		if w.SignsWithPrevious(at) && creds.PreviousSecret != "" {
			// A previous secret from before the webhook moved to format
			// standard may be no whsec_ secret; it cannot sign here, and
			// the new one's signature is there.
			if entry, err := webhook.SignStandard(creds.PreviousSecret, d.ID, at, body); err == nil {
				signature += " " + entry
			}
		}
	case hookshot.AuthEd25519:
		keys, err := s.signingKeys(ctx, w.StudyID, at)
		if err != nil {
			return err
		}
		entries := make([]string, 0, len(keys))
		for _, key := range keys {
			entry, err := webhook.SignEd25519(key, d.ID, at, body)
			if err != nil {
				return fmt.Errorf("cannot sign with the study's key: %w", err)
			}
			entries = append(entries, entry)
		}
		signature = strings.Join(entries, " ")
	}
	header[webhook.HeaderStandardID] = []string{d.ID}
	header[webhook.HeaderStandardTimestamp] = []string{strconv.FormatInt(at.Unix(), 10)}
	if signature != "" {
		header[webhook.HeaderStandardSignature] = []string{signature}
	}
	return nil
}

// signingKeys opens the study's private keys in force at at.
func (s *sender) signingKeys(ctx context.Context, studyID int64, at time.Time) ([]ed25519.PrivateKey, error) {
	if s.keys == nil || s.keyOpen == nil {
		return nil, errors.New("this process has no signing keys to sign with ed25519")
	}
	stored, err := s.keys.SigningKeys(ctx, studyID, at)
	if err != nil {
		return nil, fmt.Errorf("reading the study's signing keys: %w", err)
	}
	if len(stored) == 0 {
		return nil, fmt.Errorf("study %d has no signing key; rotate one with POST /v1/studies/%d/signing-keys/rotate", studyID, studyID)
	}
	keys := make([]ed25519.PrivateKey, 0, len(stored))
	for _, k := range stored {
		private, err := s.keyOpen.OpenPrivateKey(k.SealedPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("opening signing key %s: %w", k.ID, err)
		}
		keys = append(keys, private)
	}
	return keys, nil
}
