package hookshot

import (
	"context"
	"time"
)

// RelayStore keeps relays: the temporary webhooks that `hookshot listen`
// registers (SPEC §15). A relay is an ordinary webhook row that the
// delivery engine's ClaimDeliveries skips; its CLI claims its deliveries
// through the API instead and reports each answer back, which is recorded
// with Store.RecordResults like any other attempt. A relay lives while its
// CLI keeps polling: each claim pushes its expiry on, and a sweep deletes
// it once the expiry has passed.
//
// Methods return ErrNotFound (wrapped) when the webhook does not exist in
// the study or is not a relay, and wrap ErrStorageUnavailable as Store's
// methods do.
type RelayStore interface {
	// CreateRelay inserts w as a relay expiring at expiresAt, and appends
	// e when it is not nil (its Target may name the webhook by
	// AuditNewID), in one transaction; it sets w's ID, CreatedAt and
	// UpdatedAt.
	CreateRelay(ctx context.Context, w *Webhook, expiresAt time.Time, e *AuditEntry) error
	// ClaimRelay moves the relay's expiry to expiresAt and leases up to
	// c.Limit of its due deliveries to c.Owner until c.Now+c.LeaseFor,
	// oldest due first, in one transaction (c.SkipWebhooks is ignored).
	ClaimRelay(ctx context.Context, studyID, webhookID int64, expiresAt time.Time, c Claim) ([]*Job, error)
	// RelayJob returns a delivery of the relay, still in progress and
	// leased to owner, as the job it was claimed as, or ErrNotFound.
	RelayJob(ctx context.Context, studyID, webhookID int64, deliveryID, owner string) (*Job, error)
	// ExpiredRelays lists up to limit relays whose expiry is at or before
	// now, the longest expired first.
	ExpiredRelays(ctx context.Context, now time.Time, limit int) ([]RelayRef, error)
	// DeleteExpiredRelay deletes a relay, as Store.DeleteWebhook does, but
	// only while its expiry is at or before now: a CLI that polled since
	// it was listed keeps it. Returns ErrNotFound otherwise, so processes
	// sweeping together delete each relay once.
	DeleteExpiredRelay(ctx context.Context, ref RelayRef, now time.Time, e *AuditEntry) error
}

// RelayRef names a relay.
type RelayRef struct {
	StudyID   int64
	WebhookID int64
}
