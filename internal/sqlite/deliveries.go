package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

const deliveryColumns = `id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
	next_attempt_at, validation_code, trace_parent, created_at, updated_at`

// scanDelivery reads deliveryColumns, preceded by extra destinations.
func scanDelivery(row scanner, extra ...any) (*hookshot.Delivery, error) {
	var (
		d                         hookshot.Delivery
		eventID, code             sql.NullString
		status                    string
		due, createdAt, updatedAt int64
	)
	dest := append(extra, &d.ID, &d.WebhookID, &d.StudyID, &eventID, &d.Event, &status, &d.Attempts,
		&d.MaxAttempts, &due, &code, &d.TraceParent, &createdAt, &updatedAt)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.EventID = eventID.String
	d.ValidationCode = code.String
	d.Status = hookshot.DeliveryStatus(status)
	d.NextAttemptAt = fromMicros(due)
	d.CreatedAt = fromMicros(createdAt)
	d.UpdatedAt = fromMicros(updatedAt)
	return &d, nil
}

func collectDeliveries(rows *sql.Rows) ([]*hookshot.Delivery, error) {
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

// insertDeliveries inserts ds and returns those whose webhook still exists.
// A delivery for a webhook deleted meanwhile is dropped rather than failing
// the foreign key, and with it the whole publication. The callers' structs
// get their times normalised.
func insertDeliveries(ctx context.Context, tx *sql.Tx, ds []*hookshot.Delivery) ([]*hookshot.Delivery, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?2)`)
	if err != nil {
		return nil, fmt.Errorf("preparing delivery insert: %w", err)
	}
	defer stmt.Close()
	out := ds[:0:0]
	for _, d := range ds {
		d.CreatedAt = columns.Stamp(d.CreatedAt)
		d.UpdatedAt = columns.Stamp(d.UpdatedAt)
		d.NextAttemptAt = columns.Timestamp(d.NextAttemptAt)
		res, err := stmt.ExecContext(ctx, d.ID, d.WebhookID, d.StudyID, nullString(d.EventID), d.Event,
			string(d.Status), d.Attempts, d.MaxAttempts, micros(d.NextAttemptAt), nullString(d.ValidationCode),
			d.TraceParent, micros(d.CreatedAt), micros(d.UpdatedAt))
		if err != nil {
			return nil, fmt.Errorf("inserting delivery %s: %w", d.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("inserting delivery %s: %w", d.ID, err)
		} else if n == 1 {
			out = append(out, d)
		}
	}
	return out, nil
}

// Delivery returns one delivery of a webhook with its attempts, oldest
// first, or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt, error) {
	// One read transaction, so the attempts match the delivery's state.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading delivery %s: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	d, err := scanDelivery(tx.QueryRowContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE id = ? AND webhook_id = ?`, id, webhookID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading delivery %s: %w", id, err)
	}
	// A NULL request body stands for the event's payload (see
	// RecordResults), put back here.
	rows, err := tx.QueryContext(ctx, `
		SELECT a.number, a.started_at, a.duration_us, a.request_url, a.request_headers,
			coalesce(a.request_body, e.payload), a.response_status, a.response_headers, a.response_body, a.error
		FROM attempts a
		LEFT JOIN events e ON e.id = ?
		WHERE a.delivery_id = ?
		ORDER BY a.number`, nullString(d.EventID), id)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading attempts of delivery %s: %w", id, err)
	}
	defer rows.Close()
	var attempts []*hookshot.Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: reading attempts of delivery %s: %w", id, err)
		}
		a.DeliveryID = id
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading attempts of delivery %s: %w", id, err)
	}
	return d, attempts, nil
}

func scanAttempt(rows *sql.Rows) (*hookshot.Attempt, error) {
	var (
		a                     hookshot.Attempt
		startedAt, durationUS int64
		reqHeaders            string
		respHeaders           sql.NullString
		reqBody, respBody     []byte
		respStatus            sql.NullInt64
	)
	if err := rows.Scan(&a.Number, &startedAt, &durationUS, &a.Request.URL, &reqHeaders, &reqBody,
		&respStatus, &respHeaders, &respBody, &a.Error); err != nil {
		return nil, err
	}
	a.StartedAt = fromMicros(startedAt)
	a.Duration = time.Duration(durationUS) * time.Microsecond
	if err := json.Unmarshal([]byte(reqHeaders), &a.Request.Headers); err != nil {
		return nil, fmt.Errorf("attempt %d: decoding request headers: %w", a.Number, err)
	}
	a.Request.Body = columns.NonEmpty(reqBody)
	if respStatus.Valid {
		a.Response = &hookshot.AttemptResponse{Status: int(respStatus.Int64), Body: columns.NonEmpty(respBody)}
		if respHeaders.Valid {
			if err := json.Unmarshal([]byte(respHeaders.String), &a.Response.Headers); err != nil {
				return nil, fmt.Errorf("attempt %d: decoding response headers: %w", a.Number, err)
			}
		}
	}
	return &a, nil
}

// Deliveries lists a webhook's deliveries newest first, filtered by f. A
// Limit of zero or less means no limit.
func (s *Store) Deliveries(ctx context.Context, f hookshot.DeliveryFilter) ([]*hookshot.Delivery, error) {
	where := []string{"webhook_id = ?"}
	args := []any{f.WebhookID}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Event != "" {
		where = append(where, "event = ?")
		args = append(args, f.Event)
	}
	if f.Before != nil {
		// A row value comparison, so that the (webhook_id, created_at DESC,
		// id DESC) index serves the page directly.
		where = append(where, "(created_at, id) < (?, ?)")
		args = append(args, micros(f.Before.CreatedAt), f.Before.ID)
	}
	query := `SELECT ` + deliveryColumns + ` FROM deliveries WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing deliveries of webhook %d: %w", f.WebhookID, err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing deliveries of webhook %d: %w", f.WebhookID, err)
	}
	return out, nil
}

// ResendDelivery puts a finished delivery back in progress, due at now,
// with room for exactly one more attempt. Returns ErrNotFound, or
// ErrDeliveryInProgress when it has not finished.
func (s *Store) ResendDelivery(ctx context.Context, webhookID int64, id string, now time.Time) (*hookshot.Delivery, error) {
	now = columns.Timestamp(now)
	var d *hookshot.Delivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDelivery(tx.QueryRowContext(ctx, `
			UPDATE deliveries
			SET status = 'in_progress', max_attempts = attempts + 1, next_attempt_at = ?1,
				lease_owner = NULL, updated_at = ?1
			WHERE id = ?2 AND webhook_id = ?3 AND status <> 'in_progress'
			RETURNING `+deliveryColumns, micros(now), id, webhookID))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = ? AND webhook_id = ?)`,
			id, webhookID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrDeliveryInProgress)
		}
		return fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
	})
	if errors.Is(err, hookshot.ErrNotFound) || errors.Is(err, hookshot.ErrDeliveryInProgress) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: resending delivery %s: %w", id, err)
	}
	return d, nil
}
