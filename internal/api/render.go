package api

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
)

type webhookJSON struct {
	ID           int64                            `json:"id"`
	StudyID      int64                            `json:"study_id"`
	Description  string                           `json:"description"`
	URL          string                           `json:"url"`
	Auth         hookshot.Auth                    `json:"auth"`
	Events       []string                         `json:"events"`
	EventOptions map[string]hookshot.EventOptions `json:"event_options"`
	Active       bool                             `json:"active"`
	Validation   validationJSON                   `json:"validation"`
	Format       string                           `json:"format"`
	// PreviousSecretExpiresAt is the end of a secret rotation's overlap,
	// while it lasts.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	Health                  healthJSON `json:"health"`
	// DisabledReason is null unless the service disabled the webhook.
	DisabledReason *disabledReasonJSON `json:"disabled_reason"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
}

type validationJSON struct {
	Status     hookshot.ValidationStatus `json:"status"`
	DeliveryID *string                   `json:"delivery_id"`
	CheckedAt  *time.Time                `json:"checked_at"`
}

// renderWebhook shows a webhook. Credentials are not in hookshot.Auth, so
// they cannot slip into a response.
func renderWebhook(w *hookshot.Webhook) webhookJSON {
	out := webhookJSON{
		ID:           w.ID,
		StudyID:      w.StudyID,
		Description:  w.Description,
		URL:          w.URL,
		Auth:         w.Auth,
		Events:       w.Events,
		EventOptions: w.EventOptions,
		Active:       w.Active,
		Validation:   validationJSON{Status: w.Validation.Status, CheckedAt: w.Validation.CheckedAt},
		Format:       w.Format,
		Health:       renderHealth(w.Health),
		CreatedAt:    w.CreatedAt,
		UpdatedAt:    w.UpdatedAt,
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	if out.EventOptions == nil {
		out.EventOptions = map[string]hookshot.EventOptions{}
	}
	if w.SignsWithPrevious(time.Now()) {
		out.PreviousSecretExpiresAt = w.PreviousSecretUntil
	}
	if w.Validation.DeliveryID != "" {
		id := w.Validation.DeliveryID
		out.Validation.DeliveryID = &id
	}
	if r := w.DisabledReason; r != nil {
		out.DisabledReason = &disabledReasonJSON{Code: r.Code, Since: r.Since}
	}
	return out
}

type deliveryJSON struct {
	ID            string                  `json:"id"`
	WebhookID     int64                   `json:"webhook_id"`
	Event         string                  `json:"event"`
	EventID       *string                 `json:"event_id"`
	Status        hookshot.DeliveryStatus `json:"status"`
	AttemptCount  int                     `json:"attempt_count"`
	NextAttemptAt *time.Time              `json:"next_attempt_at"`
	CreatedAt     time.Time               `json:"created_at"`
	UpdatedAt     time.Time               `json:"updated_at"`
	Attempts      []attemptJSON           `json:"attempts,omitempty"`
}

func renderDelivery(d *hookshot.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID:           d.ID,
		WebhookID:    d.WebhookID,
		Event:        d.Event,
		Status:       d.Status,
		AttemptCount: d.Attempts,
		CreatedAt:    d.CreatedAt,
		UpdatedAt:    d.UpdatedAt,
	}
	if d.EventID != "" {
		id := d.EventID
		out.EventID = &id
	}
	if d.Status == hookshot.DeliveryInProgress {
		t := d.NextAttemptAt
		out.NextAttemptAt = &t
	}
	return out
}

type attemptJSON struct {
	Number     int           `json:"number"`
	StartedAt  time.Time     `json:"started_at"`
	DurationMS float64       `json:"duration_ms"`
	Request    requestJSON   `json:"request"`
	Response   *responseJSON `json:"response"`
	Error      *string       `json:"error"`
}

type requestJSON struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	bodyJSON
}

type responseJSON struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	bodyJSON
}

// bodyJSON shows a body as text, or as base64 when it is not UTF-8.
type bodyJSON struct {
	Body         string `json:"body"`
	BodyEncoding string `json:"body_encoding,omitempty"`
}

func renderBody(b []byte) bodyJSON {
	if utf8.Valid(b) {
		return bodyJSON{Body: string(b)}
	}
	return bodyJSON{Body: base64.StdEncoding.EncodeToString(b), BodyEncoding: "base64"}
}

func renderHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func renderAttempt(a *hookshot.Attempt) attemptJSON {
	out := attemptJSON{
		Number:     a.Number,
		StartedAt:  a.StartedAt,
		DurationMS: float64(a.Duration.Microseconds()) / 1000,
		Request: requestJSON{
			URL:      a.Request.URL,
			Headers:  renderHeaders(a.Request.Headers),
			bodyJSON: renderBody(a.Request.Body),
		},
	}
	if a.Response != nil {
		out.Response = &responseJSON{
			Status:   a.Response.Status,
			Headers:  renderHeaders(a.Response.Headers),
			bodyJSON: renderBody(a.Response.Body),
		}
	}
	if a.Error != "" {
		e := a.Error
		out.Error = &e
	}
	return out
}

type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func list[T any](items []T, next string) listJSON[T] {
	out := listJSON[T]{Items: items}
	if out.Items == nil {
		out.Items = []T{}
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out
}
