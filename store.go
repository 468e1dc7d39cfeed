package hookshot

import (
	"context"
	"fmt"
	"time"
)

// Store keeps webhooks, events, deliveries and attempts, and is the
// delivery queue: each in-progress delivery row carries its due time and a
// lease. Every method is safe for concurrent use, and several processes may
// share one Store when the engine behind it allows that (PostgreSQL).
//
// Methods return ErrNotFound (wrapped) when the thing they address does not
// exist, and other errors only for failures of the store itself. When the
// database itself fails (unreachable, read-only, full, locked past the busy
// timeout) the error wraps ErrStorageUnavailable, and the call changed
// nothing; only a connection that broke during the commit leaves unknown
// whether the commit was made, which callers settle by repeating the call
// (publish with its idempotency key).
//
// The methods that change webhooks or resend a delivery take an audit
// entry (nil for none), which they write in the change's own transaction:
// the change and its entry are saved together or not at all, and a failed
// write of the entry fails the call and changes nothing (see AuditEntry).
// A call that returns ErrNotFound or ErrDeliveryInProgress writes no entry.
type Store interface {
	SigningKeyStore

	// CreateWebhook inserts w and sets its ID, CreatedAt and UpdatedAt. When
	// validation is not nil it is inserted in the same transaction and
	// becomes w's current validation delivery (Validation.DeliveryID); so
	// is e when not nil, whose Target may name the new webhook by
	// AuditNewID.
	CreateWebhook(ctx context.Context, w *Webhook, validation *Delivery, e *AuditEntry) error
	// Webhook returns one webhook of a study, or ErrNotFound.
	Webhook(ctx context.Context, studyID, id int64) (*Webhook, error)
	// Webhooks returns a study's webhooks, oldest first.
	Webhooks(ctx context.Context, studyID int64) ([]*Webhook, error)
	// RoutingWebhooks returns what publish routes by: a study's webhooks
	// as Webhooks would return them when the call starts, every change
	// committed before then included (by any process sharing the
	// database), but with Health left zero and UpdatedAt and
	// Validation.CheckedAt possibly older (they alone change nothing it
	// routes by). The list and its webhooks may be shared with other
	// callers and must not be modified.
	RoutingWebhooks(ctx context.Context, studyID int64) ([]*Webhook, error)
	// Studies returns every study that has at least one webhook, by
	// ascending id, with how many it has and how many are active.
	Studies(ctx context.Context) ([]StudySummary, error)
	// UpdateWebhook saves every field of w but ID, StudyID, CreatedAt and
	// Validation, and sets UpdatedAt. Validation is saved only with a new
	// validation delivery, which is inserted in the same transaction and
	// becomes w's current one; otherwise the stored validation state is
	// kept (a result may have been recorded since w was read) and copied
	// into w. e, when not nil, is appended in the same transaction.
	// Returns ErrNotFound when w does not exist in its study.
	UpdateWebhook(ctx context.Context, w *Webhook, validation *Delivery, e *AuditEntry) error
	// DeleteWebhook removes a webhook with its deliveries and attempts, and
	// appends e when it is not nil, in one transaction, or returns
	// ErrNotFound.
	DeleteWebhook(ctx context.Context, studyID, id int64, e *AuditEntry) error

	// PublishEvent inserts ev and its deliveries in one transaction. With a
	// key, a publication under the same key and study that has not expired
	// is answered instead, creating nothing (Publication.Replayed); a key
	// reused with another RequestHash is ErrIdempotencyMismatch.
	PublishEvent(ctx context.Context, ev *Event, deliveries []*Delivery, key *IdempotencyKey) (*Publication, error)
	// PublishEvents publishes each item as PublishEvent would, all in one
	// transaction: every event is stored (or answered under its key), or
	// none is. The publications are in the items' order. A failing item,
	// a key reused with another RequestHash included, fails the call with
	// a *BatchItemError naming it (ErrIdempotencyMismatch wrapped).
	PublishEvents(ctx context.Context, items []PublishItem) ([]*Publication, error)

	// Delivery returns one delivery of a webhook with its attempts, oldest
	// attempt first, or ErrNotFound.
	Delivery(ctx context.Context, webhookID int64, id string) (*Delivery, []*Attempt, error)
	// Deliveries lists a webhook's deliveries newest first.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)

	// Events lists a study's events newest first, each without its
	// payload and with its deliveries oldest first.
	Events(ctx context.Context, f EventFilter) ([]*EventRecord, error)
	// Event returns one event of a study with its payload and its
	// deliveries oldest first, or ErrNotFound.
	Event(ctx context.Context, studyID int64, id string) (*EventRecord, error)
	// ResendDelivery puts a finished delivery back in progress, due at now,
	// with room for exactly one more attempt; a delivery still in progress
	// becomes due at now keeping the attempts it has left (retry now), and
	// one being attempted right now is left as it is. It appends e when it
	// is not nil, in one transaction. Returns ErrNotFound.
	ResendDelivery(ctx context.Context, webhookID int64, id string, now time.Time, e *AuditEntry) (*Delivery, error)

	// ClaimDeliveries leases up to c.Limit due deliveries to c.Owner, oldest
	// due first, skipping c.SkipWebhooks and deliveries whose lease has not
	// run out. Rows claimed by one caller are not claimed by another until
	// the lease runs out or is released.
	ClaimDeliveries(ctx context.Context, c Claim) ([]*Job, error)
	// RecordResults stores each result's attempt and moves its delivery on
	// (and its webhook's validation state, for validation deliveries), all
	// in one transaction. A delivery deleted meanwhile is skipped; one whose
	// lease passed to another owner gets its attempt stored but keeps the
	// other owner's state. Under a ctx marked Unhurried the store may wait
	// a little before committing (see Unhurried).
	RecordResults(ctx context.Context, owner string, results []*Result) error
	// ReleaseDeliveries gives up owner's leases on the given deliveries so
	// that any process may claim them at once.
	ReleaseDeliveries(ctx context.Context, owner string, ids []string) error

	RecoveryStore

	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Waker is implemented by stores that can tell other processes sharing the
// database that deliveries are due (PostgreSQL's LISTEN/NOTIFY). The channel
// receives a value when another process published, resent or validated.
type Waker interface {
	Wakeups(ctx context.Context) (<-chan struct{}, error)
}

// IdempotencyKey makes a publish safe to repeat.
type IdempotencyKey struct {
	Key string
	// RequestHash identifies the request body, so that a key reused for a
	// different request is caught instead of silently answered.
	RequestHash string
	// NotBefore: a stored key created before this time has expired and is
	// replaced.
	NotBefore time.Time
}

// Publication is what a publish created, or found under its idempotency key.
type Publication struct {
	Event      *Event
	Deliveries []*Delivery
	Replayed   bool
}

// PublishItem is one event of a batch for PublishEvents.
type PublishItem struct {
	Event      *Event
	Deliveries []*Delivery
	Key        *IdempotencyKey // nil for none
	// Audit, when not nil, is appended in the same transaction, unless
	// the item was answered under its key or got no delivery.
	Audit *AuditEntry
}

// BatchItemError says which item of a batch failed, and why.
type BatchItemError struct {
	Index int
	Err   error
}

func (e *BatchItemError) Error() string {
	return fmt.Sprintf("event %d of the batch: %v", e.Index, e.Err)
}

// Unwrap returns the item's error.
func (e *BatchItemError) Unwrap() error { return e.Err }

// DeliveryFilter selects a page of one webhook's deliveries.
type DeliveryFilter struct {
	WebhookID int64
	Status    DeliveryStatus // empty for any
	Event     string         // empty for any
	// ID and EventID, when set, find the delivery with that GUID and the
	// deliveries of that event.
	ID      string
	EventID string
	// Since and Until, when not zero, keep the deliveries created in
	// [Since, Until).
	Since, Until time.Time
	// Before, when set, starts the page after this position (exclusive) in
	// newest-first order.
	Before *Cursor
	Limit  int
}

// EventFilter selects a page of one study's events.
type EventFilter struct {
	StudyID int64
	Type    string // empty for any
	// Since and Until, when not zero, keep the events created in
	// [Since, Until).
	Since, Until time.Time
	// Before, when set, starts the page after this position (exclusive) in
	// newest-first order.
	Before *Cursor
	Limit  int
}

// EventRecord is a stored event with the deliveries it made.
type EventRecord struct {
	Event      *Event
	Deliveries []*Delivery
}

// Cursor is a position in a newest-first list of deliveries or events.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Claim asks for due deliveries.
type Claim struct {
	Owner        string
	Now          time.Time
	LeaseFor     time.Duration
	Limit        int
	SkipWebhooks []int64
}

// Job is a claimed delivery with everything needed to attempt it.
type Job struct {
	Delivery *Delivery
	Webhook  *Webhook
	// Payload is the body to send: the event's payload, or for validation
	// deliveries ValidationBody.
	Payload []byte
	// Test is set for deliveries of a test event (Event.Test).
	Test bool
}

// Result is the outcome of one attempt, to be recorded.
type Result struct {
	Attempt *Attempt
	// Status, NextAttemptAt and MaxAttempts are the delivery's new state.
	Status        DeliveryStatus
	NextAttemptAt time.Time
	MaxAttempts   int
	// Validation is set for validation deliveries: the webhook's new
	// validation state, applied only while this delivery is still the
	// webhook's current validation delivery.
	Validation *ValidationStatus
	// WebhookID lets the store find the webhook for Validation and for
	// its health; Event is the delivery's event type, and attempts of
	// EventValidation do not count toward health.
	WebhookID int64
	Event     string

	// Gone asks for the webhook to be disabled at once (a 410 answer,
	// SPEC §14). DisableAfter, when not 0, disables it once all of its
	// attempts have failed for that long, at least MinFailuresToDisable of
	// them. Either is done in the recording transaction, with an audit
	// entry by AuditActorSystem.
	Gone         bool
	DisableAfter time.Duration
	// Disabled is set by RecordResults on the last result of a webhook that
	// recording disabled.
	Disabled *DisabledWebhook
}

// StudySummary is a study that has webhooks, as the admin's list of
// studies shows it.
type StudySummary struct {
	StudyID  int64
	Webhooks int // how many webhooks the study has
	Active   int // how many of them are enabled
}

type unhurriedKey struct{}

// Unhurried marks the write made under ctx as one whose caller does not
// mind waiting a few milliseconds for its commit: a store that commits
// writes together (SQLite's group commit) may then keep it uncommitted for
// a moment, for the next write to share the commit and its sync. The write
// is as durable as any other once the method has returned; a store that
// commits each write alone ignores the mark.
func Unhurried(ctx context.Context) context.Context {
	return context.WithValue(ctx, unhurriedKey{}, true)
}

// IsUnhurried reports whether ctx, or a context it derives from, was
// marked by Unhurried.
func IsUnhurried(ctx context.Context) bool {
	v, _ := ctx.Value(unhurriedKey{}).(bool)
	return v
}
