package hookshot

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

// Event type names as they appear in the API, in X-ActiGraph-Event and in
// the catalog. EventValidation is not publishable: it marks the handshake
// deliveries of §5.
const (
	EventUpload                     = "upload"
	EventRawProcessingComplete      = "raw_processing_complete"
	EventDataRetrievalComplete      = "data_retrieval_complete"
	EventDailyStatisticsComplete    = "daily_statistics_complete"
	EventCP2DailyStatisticsComplete = "cp2_daily_statistics_complete"
	EventValidation                 = "validation"
)

// AuthType is how Hookshot authenticates itself to a receiver.
type AuthType string

// The authentication types of SPEC §4.
const (
	AuthNone   AuthType = "none"
	AuthBasic  AuthType = "basic"
	AuthHMAC   AuthType = "hmac"
	AuthOAuth2 AuthType = "oauth2"
)

// Auth is the non-secret half of a webhook's authentication. It is safe to
// show; the secret half lives in Credentials and is only ever stored sealed.
type Auth struct {
	Type     AuthType `json:"type"`
	Username string   `json:"username,omitempty"`
	TokenURL string   `json:"token_url,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
}

// Credentials are the write-only secrets of a webhook's authentication.
// They are sealed before they reach a Store and opened only by the delivery
// engine, so no API response, page, log line or stored attempt holds them.
type Credentials struct {
	Password     string `json:"password,omitempty"`
	Secret       string `json:"secret,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	// PreviousSecret is the HMAC secret that a rotation replaced; it
	// still signs until Webhook.PreviousSecretUntil (SPEC §16).
	PreviousSecret string `json:"previous_secret,omitempty"`
}

// EventOptions narrow a subscription to one event type. Only upload has
// options today: the statuses to receive (empty means all of them).
type EventOptions struct {
	Statuses []string `json:"statuses,omitempty"`
}

// ValidationStatus is where a webhook stands in the handshake of SPEC §5.
type ValidationStatus string

// The validation states.
const (
	ValidationPending ValidationStatus = "pending"
	ValidationPassed  ValidationStatus = "passed"
	ValidationFailed  ValidationStatus = "failed"
)

// Validation is the outcome of a webhook's latest validation request.
type Validation struct {
	Status     ValidationStatus
	DeliveryID string     // the latest validation delivery; empty before the first
	CheckedAt  *time.Time // when that delivery last got an answer
}

// Webhook is one receiver registered for one study.
type Webhook struct {
	ID      int64
	StudyID int64
	// Description is the people's name for the webhook, e.g. "Data
	// warehouse (prod)"; empty when none was given.
	Description string
	URL         string
	Auth        Auth
	// SealedCredentials is Credentials sealed with the operator's key; a
	// Store keeps it as opaque bytes.
	SealedCredentials []byte
	Events            []string
	EventOptions      map[string]EventOptions
	Active            bool
	Validation        Validation
	// Format is how requests are signed: webhook.FormatActiGraph (also
	// for "") or webhook.FormatStandard.
	Format string
	// PreviousSecretUntil, when not nil, is the end of a secret
	// rotation's overlap: until then Credentials.PreviousSecret signs
	// too.
	PreviousSecretUntil *time.Time
	// Health is kept by the recording of attempts; writes of the webhook
	// leave it alone.
	Health Health
	// DisabledReason is set while the service, not a person, has the
	// webhook disabled; enabling it clears the reason.
	DisabledReason *DisabledReason
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SignsWithPrevious reports whether the secret a rotation replaced still
// signs at now.
func (w *Webhook) SignsWithPrevious(now time.Time) bool {
	return w.PreviousSecretUntil != nil && now.Before(*w.PreviousSecretUntil)
}

// Subscribed reports whether the webhook wants an event of this type whose
// payload has the given upload status (ignored for other types).
func (w *Webhook) Subscribed(eventType, status string) bool {
	found := false
	for _, e := range w.Events {
		if e == eventType {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	opts, ok := w.EventOptions[eventType]
	if !ok || len(opts.Statuses) == 0 {
		return true
	}
	for _, s := range opts.Statuses {
		if s == status {
			return true
		}
	}
	return false
}

// Receives reports whether a newly published event should be delivered to
// the webhook: it must be enabled, validated and subscribed.
func (w *Webhook) Receives(eventType, status string) bool {
	return w.Active && w.Validation.Status == ValidationPassed && w.Subscribed(eventType, status)
}

// Event is something a producer published for a study.
type Event struct {
	ID      string // a lower-case GUID
	StudyID int64
	Type    string
	// Payload is the raw JSON text exactly as it stood in the publish
	// request; receivers get these bytes unchanged.
	Payload     []byte
	TraceParent string // W3C traceparent passed on to receivers
	// Test marks a test event (SPEC §15): the catalog's example, sent to
	// one webhook on request, with the extra header <prefix>Test: true.
	Test      bool
	CreatedAt time.Time
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery states.
const (
	DeliveryInProgress DeliveryStatus = "in_progress"
	DeliverySucceeded  DeliveryStatus = "succeeded"
	DeliveryFailed     DeliveryStatus = "failed"
)

// Valid reports whether s is one of the delivery states.
func (s DeliveryStatus) Valid() bool {
	return s == DeliveryInProgress || s == DeliverySucceeded || s == DeliveryFailed
}

// Delivery is one event, or one validation request, for one webhook. It is
// also the unit of work of the queue: it is due at NextAttemptAt.
type Delivery struct {
	ID        string // a lower-case GUID, the same on every attempt
	WebhookID int64
	StudyID   int64
	EventID   string // empty for validation deliveries
	Event     string // the event type, or EventValidation
	Status    DeliveryStatus
	// Attempts is how many attempts have been recorded; MaxAttempts is how
	// many the delivery may have before it is failed.
	Attempts      int
	MaxAttempts   int
	NextAttemptAt time.Time
	// ValidationCode is the code a validation delivery sends and expects
	// echoed back. Empty for event deliveries.
	ValidationCode string
	TraceParent    string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// LeaseOwner, when set on a delivery being published, has the store
	// insert it already leased to that process's engine until LeaseUntil,
	// as a claim would lease it, so that the publish hands it over without
	// a claim; if the process dies, the lease runs out and it is due. The
	// store leases only what an engine would claim: a delivery of a
	// disabled webhook or of a relay is inserted due at NextAttemptAt, and
	// its LeaseOwner and LeaseUntil cleared. Reads leave both empty.
	LeaseOwner string
	LeaseUntil time.Time
}

// Attempt is one HTTP request of a delivery and its outcome, stored whole
// but with credentials redacted.
type Attempt struct {
	DeliveryID string
	Number     int
	StartedAt  time.Time
	Duration   time.Duration
	Request    AttemptRequest
	Response   *AttemptResponse // nil when no response arrived
	Error      string           // why the attempt failed; empty on success
}

// AttemptRequest is the request as it was sent.
type AttemptRequest struct {
	URL     string
	Headers http.Header
	Body    []byte
}

// AttemptResponse is the response as it was received, body capped.
type AttemptResponse struct {
	Status  int
	Headers http.Header
	Body    []byte
}

// ValidationBody returns the body of a validation request (SPEC §5), e.g.
// {"WebhookId":"74","ValidationCode":"<code>"}.
func ValidationBody(webhookID int64, code string) []byte {
	b, _ := json.Marshal(webhook.ValidationRequest{WebhookID: strconv.FormatInt(webhookID, 10), ValidationCode: code})
	return b
}
