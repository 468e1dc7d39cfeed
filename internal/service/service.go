// Package service holds the operations that the API, the portal and the
// CLI offer, split by what they serve (wtf's DialService, UserService,
// AuthService):
//
//   - Webhooks: a study's webhooks (list, read, create, edit, validate,
//     enable and disable, delete);
//   - Events: publishing, and a webhook's deliveries (lists, reads,
//     resend);
//   - Accounts: accounts, their API tokens, the audit trail, and token
//     authentication;
//   - Sessions: portal sign-in, session lookup, sign-out, password checks.
//
// Every method that acts for a caller takes its *hookshot.Principal and
// checks it before anything else (access.go), so that the API, the portal
// and the CLI share one set of rules. The services check input, seal
// credentials, decide which webhooks receive an event, and hand storage to
// a hookshot.Store or hookshot.AccountStore. They speak neither HTTP nor
// SQL, and read the time from one injected clock.
package service

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// Sealer seals and opens webhook credentials and the studies' signing
// keys (internal/credential).
type Sealer interface {
	Seal(c hookshot.Credentials) ([]byte, error)
	Open(sealed []byte) (hookshot.Credentials, error)
	SealPrivateKey(key ed25519.PrivateKey) ([]byte, error)
}

// Notifier is told when deliveries became due, so the engine starts them
// without waiting for a poll.
type Notifier interface{ Notify() }

// Page limits for lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// base is what every service has (river's baseservice): the clock that
// stamps what it stores, shared with the delivery engine.
type base struct {
	clock clock.Clock
}

func newBase(clk clock.Clock) base {
	if clk == nil {
		clk = clock.System{}
	}
	return base{clock: clk}
}

// entry is the audit entry of a change by actor, for the store to write
// with the change.
func (b base) entry(actor *hookshot.Principal, action string, studyID int64, target, detail string) *hookshot.AuditEntry {
	name := "unknown"
	if actor != nil && actor.Name != "" {
		name = actor.Name
	}
	return &hookshot.AuditEntry{At: b.clock.Now(), Actor: name, Action: action, StudyID: studyID, Target: target, Detail: detail}
}

// notify tells n, when there is one, that deliveries are due.
func notify(n Notifier) {
	if n != nil {
		n.Notify()
	}
}

// newID returns a lower-case GUID. Version 7 GUIDs sort by creation time,
// which keeps the deliveries index append-mostly.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newValidationCode returns a fresh unguessable code for the handshake.
func newValidationCode() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newTraceParent starts a W3C trace for an event that arrived without one.
func newTraceParent() string {
	var trace [16]byte
	var span [8]byte
	_, _ = rand.Read(trace[:])
	_, _ = rand.Read(span[:])
	return "00-" + hex.EncodeToString(trace[:]) + "-" + hex.EncodeToString(span[:]) + "-01"
}

func summary(problems []hookshot.FieldError) string {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.Field + " " + p.Message
	}
	return strings.Join(parts, "; ") + "."
}

// notFound turns a store's ErrNotFound into a message for the caller and
// passes other errors through.
func notFound(err error, format string, args ...any) error {
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return hookshot.Errorf(hookshot.ENotFound, format, args...)
	}
	return err
}
