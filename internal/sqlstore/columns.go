package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
)

// What both stores write and read alike: the JSON encoding of a webhook's
// structured fields, of attempt headers and of account grants (TEXT on
// SQLite, jsonb on PostgreSQL: both take the JSON text and give back its
// bytes), and how rows become hookshot values.

// webhookColumns are the columns scanWebhook reads. A column that publish
// or a delivery reads must also be among those whose change bumps the
// routing version (the triggers of migration 0011, both engines), or the
// routing cache would keep its old value (routing.go).
const webhookColumns = `id, study_id, url, auth, credentials, events, event_options, active,
	validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at,
	description, format, previous_secret_until,
	last_success_at, last_failure_at, failing_since, consecutive_failures, disabled_reason, disabled_since`

// DeliveryColumns are the columns ScanDelivery reads, in its order.
const DeliveryColumns = `id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
	next_attempt_at, validation_code, trace_parent, created_at, updated_at`

// webhookJSON holds a webhook's JSON columns, encoded for writing.
type webhookJSON struct {
	auth, events, options string
	format                string
}

// encodeWebhook encodes w's auth, events and event options. A nil slice or
// map is stored as JSON null and read back as nil, so both nil and empty
// round-trip unchanged.
func encodeWebhook(w *hookshot.Webhook) (webhookJSON, error) {
	auth, err := json.Marshal(w.Auth)
	if err != nil {
		return webhookJSON{}, fmt.Errorf("encoding auth: %w", err)
	}
	events, err := json.Marshal(w.Events)
	if err != nil {
		return webhookJSON{}, fmt.Errorf("encoding events: %w", err)
	}
	options, err := json.Marshal(w.EventOptions)
	if err != nil {
		return webhookJSON{}, fmt.Errorf("encoding event options: %w", err)
	}
	return webhookJSON{auth: string(auth), events: string(events), options: string(options), format: w.Format}, nil
}

func (s *Store) scanWebhook(row Row, extra ...any) (*hookshot.Webhook, error) {
	var (
		w                     hookshot.Webhook
		auth, events, options []byte
		status                string
		deliveryID, reason    *string
		disabledSince         *time.Time
	)
	dest := append([]any{&w.ID, &w.StudyID, &w.URL, &auth, &w.SealedCredentials, &events, &options, &w.Active,
		&status, &deliveryID, s.e.ScanNullTime(&w.Validation.CheckedAt), s.e.ScanTime(&w.CreatedAt), s.e.ScanTime(&w.UpdatedAt),
		&w.Description, &w.Format, s.e.ScanNullTime(&w.PreviousSecretUntil),
		s.e.ScanNullTime(&w.Health.LastSuccessAt), s.e.ScanNullTime(&w.Health.LastFailureAt),
		s.e.ScanNullTime(&w.Health.FailingSince), &w.Health.ConsecutiveFailures, &reason, s.e.ScanNullTime(&disabledSince)}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if reason != nil && disabledSince != nil {
		w.DisabledReason = &hookshot.DisabledReason{Code: *reason, Since: *disabledSince}
	}
	if err := json.Unmarshal(auth, &w.Auth); err != nil {
		return nil, fmt.Errorf("webhook %d: decoding auth: %w", w.ID, err)
	}
	if err := json.Unmarshal(events, &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %d: decoding events: %w", w.ID, err)
	}
	if err := json.Unmarshal(options, &w.EventOptions); err != nil {
		return nil, fmt.Errorf("webhook %d: decoding event options: %w", w.ID, err)
	}
	w.Validation.Status = hookshot.ValidationStatus(status)
	w.Validation.DeliveryID = deref(deliveryID)
	return &w, nil
}

// ScanDelivery reads DeliveryColumns, followed by extra destinations.
func ScanDelivery(d Dialect, row Row, extra ...any) (*hookshot.Delivery, error) {
	var (
		del           hookshot.Delivery
		eventID, code *string
		status        string
	)
	dest := append([]any{&del.ID, &del.WebhookID, &del.StudyID, &eventID, &del.Event, &status, &del.Attempts,
		&del.MaxAttempts, d.ScanTime(&del.NextAttemptAt), &code, &del.TraceParent,
		d.ScanTime(&del.CreatedAt), d.ScanTime(&del.UpdatedAt)}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	del.EventID = deref(eventID)
	del.ValidationCode = deref(code)
	del.Status = hookshot.DeliveryStatus(status)
	return &del, nil
}

func (s *Store) scanDelivery(rows Rows) (*hookshot.Delivery, error) { return ScanDelivery(s.e, rows) }

// scanAttempt reads an attempt without its DeliveryID.
func (s *Store) scanAttempt(rows Rows) (*hookshot.Attempt, error) {
	var (
		a                       hookshot.Attempt
		durationUS              int64
		reqHeaders, respHeaders []byte
		respStatus              *int
		respBody                []byte
	)
	if err := rows.Scan(&a.Number, s.e.ScanTime(&a.StartedAt), &durationUS, &a.Request.URL, &reqHeaders, &a.Request.Body,
		&respStatus, &respHeaders, &respBody, &a.Error); err != nil {
		return nil, err
	}
	a.Duration = time.Duration(durationUS) * time.Microsecond
	if err := json.Unmarshal(reqHeaders, &a.Request.Headers); err != nil {
		return nil, fmt.Errorf("attempt %d: decoding request headers: %w", a.Number, err)
	}
	a.Request.Body = nonEmpty(a.Request.Body)
	if respStatus != nil {
		a.Response = &hookshot.AttemptResponse{Status: *respStatus, Body: nonEmpty(respBody)}
		if respHeaders != nil {
			if err := json.Unmarshal(respHeaders, &a.Response.Headers); err != nil {
				return nil, fmt.Errorf("attempt %d: decoding response headers: %w", a.Number, err)
			}
		}
	}
	return &a, nil
}

// nonEmpty reads an empty body back as nil, whichever way it was written,
// so that nil and empty bodies round-trip alike.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// EncodedResult is a result with its attempt's columns encoded, ready for
// an engine's RecordResults.
type EncodedResult struct {
	*hookshot.Result
	RequestHeaders string
	// The response's columns, nil when no response arrived.
	ResponseStatus  *int32
	ResponseHeaders *string
	ResponseBody    []byte
}

// encodeResult normalises r's times, in r, and encodes its attempt.
func encodeResult(r *hookshot.Result) EncodedResult {
	a := r.Attempt
	a.StartedAt = Timestamp(a.StartedAt)
	r.NextAttemptAt = Timestamp(r.NextAttemptAt)
	enc := EncodedResult{Result: r}
	// One buffer for both header maps, so an attempt's encoding costs two
	// strings and no more.
	buf := make([]byte, 0, 1024)
	buf = appendHeaderJSON(buf, a.Request.Headers)
	enc.RequestHeaders = string(buf)
	if resp := a.Response; resp != nil {
		buf = appendHeaderJSON(buf[:0], resp.Headers)
		status, headers := int32(resp.Status), string(buf)
		enc.ResponseStatus, enc.ResponseHeaders, enc.ResponseBody = &status, &headers, resp.Body
	}
	return enc
}

// studies encodes a list of study ids (an account's grants) as a JSON
// array; nil is stored as [].
func studies(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // []int64 always encodes
	return string(b)
}

// decodeStudies reads a column written by studies; [] reads back as nil.
func decodeStudies(b []byte) ([]int64, error) {
	var ids []int64
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("decoding study ids: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}
