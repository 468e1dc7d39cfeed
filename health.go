package hookshot

import (
	"context"
	"time"
)

// Health is how a webhook's receiver has been answering (SPEC §14). Only
// attempts of event deliveries count: a validation request that fails
// says the handshake is wrong, not that the receiver is down.
type Health struct {
	LastSuccessAt *time.Time
	LastFailureAt *time.Time
	// FailingSince is when the current run of failures began: nil unless
	// every attempt since then failed.
	FailingSince        *time.Time
	ConsecutiveFailures int
	// Last24h counts attempts in the current clock hour and the 23 before
	// it.
	Last24h AttemptCounts
}

// AttemptCounts counts attempts and how many of them failed.
type AttemptCounts struct {
	Attempts int
	Failures int
}

// Reasons the service disables a webhook by itself.
const (
	// DisabledFailing: every attempt failed for the operator's
	// HOOKSHOT_DISABLE_AFTER, with at least MinFailuresToDisable of them.
	DisabledFailing = "failing"
	// DisabledGone: the receiver answered 410 Gone.
	DisabledGone = "gone"
)

// MinFailuresToDisable is how many attempts must have failed, besides the
// time, before a failing webhook is disabled: a webhook that gets one
// event a week is not disabled on its first failure.
const MinFailuresToDisable = 5

// AuditActorSystem is the actor of the changes the service makes by
// itself, such as disabling a failing webhook.
const AuditActorSystem = "system"

// Audit actions of recovery.
const (
	AuditRecovered = "recovered"
	AuditReplayed  = "replayed"
)

// AuditCount stands, in the Detail of an audit entry given to
// RecoverDeliveries or ReplayDeliveries, for how many deliveries the call
// changed or created, which only the store's transaction knows.
const AuditCount = "{n}"

// DisabledReason says why the service disabled a webhook, and since when.
// A webhook disabled by a person, or enabled, has none.
type DisabledReason struct {
	Code  string // DisabledFailing or DisabledGone
	Since time.Time
}

// DisabledWebhook is a webhook that recording a result disabled.
type DisabledWebhook struct {
	WebhookID int64
	StudyID   int64
	Reason    DisabledReason
}

// RecoveryStore is the part of Store that gives a failing receiver's
// deliveries another chance.
type RecoveryStore interface {
	// RecoverDeliveries puts every failed event delivery of a webhook
	// created in [since, until) back in progress, due at now, with room
	// for one more attempt, as ResendDelivery does, and appends e, in one
	// transaction. It returns how many it recovered; e's Detail may name
	// that number by AuditCount.
	RecoverDeliveries(ctx context.Context, webhookID int64, since, until, now time.Time, e *AuditEntry) (int, error)
	// UnreplayedEvents returns, oldest first, up to f.Limit events of
	// f.StudyID created in [f.Since, f.Until), of one of f.Types, that have
	// no delivery to f.WebhookID, after f.After when it is set.
	UnreplayedEvents(ctx context.Context, f ReplayFilter) ([]*Event, error)
	// ReplayDeliveries inserts ds, deliveries of events to one webhook,
	// leaving out those whose event already has a delivery to it, and
	// appends e, in one transaction; it inserts nothing while the webhook
	// is disabled or not validated. It returns how many it inserted; e's
	// Detail may name that number by AuditCount.
	ReplayDeliveries(ctx context.Context, webhookID int64, ds []*Delivery, e *AuditEntry) (int, error)
}

// ReplayFilter selects events a webhook has missed.
type ReplayFilter struct {
	StudyID   int64
	WebhookID int64
	Types     []string
	Since     time.Time
	Until     time.Time
	// After, when set, starts after this event in the (created_at, id)
	// order.
	After *Cursor
	Limit int
}
