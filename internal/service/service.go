// Package service holds the operations that the API and the portal offer:
// it checks input, seals credentials, decides which webhooks receive an
// event, and hands storage to a hookshot.Store. It speaks neither HTTP nor
// SQL.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
)

// Sealer seals and opens webhook credentials (internal/credential).
type Sealer interface {
	Seal(c hookshot.Credentials) ([]byte, error)
	Open(sealed []byte) (hookshot.Credentials, error)
}

// Notifier is told when deliveries became due, so the engine starts them
// without waiting for a poll.
type Notifier interface{ Notify() }

// Config is the part of the operator's settings the service applies.
type Config struct {
	// AllowHTTP accepts http:// targets (HOOKSHOT_ALLOW_HTTP).
	AllowHTTP bool
	// Schedule is the retry schedule; a delivery gets len(Schedule)+1
	// attempts.
	Schedule []time.Duration
	// IdempotencyWindow is how long an Idempotency-Key is remembered.
	// Default 24h.
	IdempotencyWindow time.Duration
}

// Service is safe for concurrent use.
type Service struct {
	store    hookshot.Store
	accounts hookshot.AccountStore // nil when store keeps no accounts
	catalog  *catalog.Catalog
	sealer   Sealer
	notifier Notifier
	cfg      Config
}

// New returns a Service. notifier may be nil, and so may cat and sealer
// for a Service that only administers accounts (the CLI).
func New(store hookshot.Store, cat *catalog.Catalog, sealer Sealer, notifier Notifier, cfg Config) *Service {
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = 24 * time.Hour
	}
	s := &Service{store: store, catalog: cat, sealer: sealer, notifier: notifier, cfg: cfg}
	// Both real stores keep accounts, tokens and the audit trail beside the
	// webhooks; a store that does not gets none of them.
	if as, ok := store.(hookshot.AccountStore); ok {
		s.accounts = as
	}
	return s
}

// Catalog returns the event catalog.
func (s *Service) Catalog() *catalog.Catalog { return s.catalog }

// Ready reports whether the store can be reached.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

func (s *Service) notify() {
	if s.notifier != nil {
		s.notifier.Notify()
	}
}

// now is the service's clock, truncated to what both stores keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

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
