package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

const deliveryColumns = `id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
	next_attempt_at, validation_code, trace_parent, created_at, updated_at`

// scanDelivery reads deliveryColumns, followed by extra destinations.
func scanDelivery(row pgx.Row, extra ...any) (*hookshot.Delivery, error) {
	var (
		d                       hookshot.Delivery
		eventID, code           *string
		status                  string
		attempts, maxAttempts32 int32
	)
	dest := append([]any{&d.ID, &d.WebhookID, &d.StudyID, &eventID, &d.Event, &status, &attempts, &maxAttempts32,
		&d.NextAttemptAt, &code, &d.TraceParent, &d.CreatedAt, &d.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.EventID = deref(eventID)
	d.ValidationCode = deref(code)
	d.Status = hookshot.DeliveryStatus(status)
	d.Attempts = int(attempts)
	d.MaxAttempts = int(maxAttempts32)
	d.NextAttemptAt = d.NextAttemptAt.UTC()
	d.CreatedAt = d.CreatedAt.UTC()
	d.UpdatedAt = d.UpdatedAt.UTC()
	return &d, nil
}

func collectDeliveries(rows pgx.Rows) ([]*hookshot.Delivery, error) {
	defer rows.Close()
	var out []*hookshot.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// insertDeliveries inserts ds in one statement and returns those whose
// webhook still exists. The webhooks are locked FOR KEY SHARE first: a
// webhook deleted by a concurrent transaction then drops its deliveries
// here instead of failing the whole insert on the foreign key.
func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []*hookshot.Delivery) ([]*hookshot.Delivery, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	n := len(ds)
	var (
		ids, events, statuses, traces = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		eventIDs, codes               = make([]*string, n), make([]*string, n)
		webhookIDs, studyIDs          = make([]int64, n), make([]int64, n)
		attempts, maxAttempts         = make([]int32, n), make([]int32, n)
		due, created, updated         = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	)
	for i, d := range ds {
		d.CreatedAt = columns.Stamp(d.CreatedAt)
		d.UpdatedAt = columns.Stamp(d.UpdatedAt)
		d.NextAttemptAt = columns.Timestamp(d.NextAttemptAt)
		ids[i], webhookIDs[i], studyIDs[i] = d.ID, d.WebhookID, d.StudyID
		eventIDs[i], events[i], statuses[i] = nullString(d.EventID), d.Event, string(d.Status)
		attempts[i], maxAttempts[i] = int32(d.Attempts), int32(d.MaxAttempts)
		due[i], codes[i], traces[i] = d.NextAttemptAt, nullString(d.ValidationCode), d.TraceParent
		created[i], updated[i] = d.CreatedAt, d.UpdatedAt
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at)
		SELECT r.* FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
				$7::int[], $8::int[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[],
				$13::timestamptz[])
			AS r(id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
				next_attempt_at, validation_code, trace_parent, created_at, updated_at)
		WHERE r.webhook_id IN (SELECT id FROM webhooks WHERE id = ANY($2) FOR KEY SHARE)
		RETURNING id`,
		ids, webhookIDs, studyIDs, eventIDs, events, statuses, attempts, maxAttempts, due, codes, traces,
		created, updated)
	if err != nil {
		return nil, fmt.Errorf("inserting deliveries: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("inserting deliveries: %w", err)
	}
	if len(inserted) == len(ds) {
		return ds, nil
	}
	kept := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		kept[id] = true
	}
	var out []*hookshot.Delivery
	for _, d := range ds {
		if kept[d.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

// Delivery returns one delivery of a webhook with its attempts, oldest
// first, or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1 AND webhook_id = $2`, id, webhookID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: reading delivery %s: %w", id, err)
	}
	// A NULL request body stands for the event's payload (see
	// RecordResults), put back here.
	rows, err := s.pool.Query(ctx, `
		SELECT a.number, a.started_at, a.duration_us, a.request_url, a.request_headers,
			coalesce(a.request_body, e.payload), a.response_status, a.response_headers, a.response_body, a.error
		FROM attempts a
		LEFT JOIN events e ON e.id = $2
		WHERE a.delivery_id = $1
		ORDER BY a.number`, id, nullString(d.EventID))
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: reading attempts of delivery %s: %w", id, err)
	}
	defer rows.Close()
	var attempts []*hookshot.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("postgres: reading attempts of delivery %s: %w", id, err)
		}
		a.DeliveryID = id
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("postgres: reading attempts of delivery %s: %w", id, err)
	}
	return d, attempts, nil
}

func scanAttempt(rows pgx.Rows) (*hookshot.Attempt, error) {
	var (
		a                       hookshot.Attempt
		number                  int32
		durationUS              int64
		reqHeaders, respHeaders []byte
		reqBody, respBody       []byte
		respStatus              *int32
	)
	if err := rows.Scan(&number, &a.StartedAt, &durationUS, &a.Request.URL, &reqHeaders, &reqBody,
		&respStatus, &respHeaders, &respBody, &a.Error); err != nil {
		return nil, err
	}
	a.Number = int(number)
	a.StartedAt = a.StartedAt.UTC()
	a.Duration = time.Duration(durationUS) * time.Microsecond
	if err := json.Unmarshal(reqHeaders, &a.Request.Headers); err != nil {
		return nil, fmt.Errorf("attempt %d: decoding request headers: %w", number, err)
	}
	a.Request.Body = columns.NonEmpty(reqBody)
	if respStatus != nil {
		a.Response = &hookshot.AttemptResponse{Status: int(*respStatus), Body: columns.NonEmpty(respBody)}
		if respHeaders != nil {
			if err := json.Unmarshal(respHeaders, &a.Response.Headers); err != nil {
				return nil, fmt.Errorf("attempt %d: decoding response headers: %w", number, err)
			}
		}
	}
	return &a, nil
}

// Deliveries lists a webhook's deliveries newest first, filtered by f.
func (s *Store) Deliveries(ctx context.Context, f hookshot.DeliveryFilter) ([]*hookshot.Delivery, error) {
	where := []string{"webhook_id = $1"}
	args := []any{f.WebhookID}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.Event != "" {
		where = append(where, "event = "+arg(f.Event))
	}
	if f.Before != nil {
		// A row comparison, so that the (webhook_id, created_at DESC,
		// id DESC) index serves the page directly.
		where = append(where, fmt.Sprintf("(created_at, id) < (%s, %s)", arg(columns.Timestamp(f.Before.CreatedAt)), arg(f.Before.ID)))
	}
	query := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		query += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing deliveries of webhook %d: %w", f.WebhookID, err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing deliveries of webhook %d: %w", f.WebhookID, err)
	}
	return out, nil
}

// ResendDelivery puts a finished delivery back in progress, due at now,
// with room for exactly one more attempt. Returns ErrNotFound, or
// ErrDeliveryInProgress when it has not finished.
func (s *Store) ResendDelivery(ctx context.Context, webhookID int64, id string, now time.Time) (*hookshot.Delivery, error) {
	now = columns.Timestamp(now)
	var d *hookshot.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		d, err = scanDelivery(tx.QueryRow(ctx, `
			UPDATE deliveries
			SET status = 'in_progress', max_attempts = attempts + 1, next_attempt_at = $3,
				lease_owner = NULL, updated_at = $3
			WHERE id = $1 AND webhook_id = $2 AND status <> 'in_progress'
			RETURNING `+deliveryColumns, id, webhookID, now))
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = $1 AND webhook_id = $2)`,
				id, webhookID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrDeliveryInProgress)
			}
			return fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return notify(ctx, tx)
	})
	if errors.Is(err, hookshot.ErrNotFound) || errors.Is(err, hookshot.ErrDeliveryInProgress) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: resending delivery %s: %w", id, err)
	}
	return d, nil
}
