package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// Delivery returns one delivery of a webhook with its attempts, oldest
// first, or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt, error) {
	var (
		d        *hookshot.Delivery
		attempts []*hookshot.Attempt
	)
	// One read transaction, so the attempts match the delivery's state.
	err := s.e.ReadTx(ctx, func(q Querier) error {
		var err error
		d, err = ScanDelivery(s.e, q.QueryRow(ctx,
			`SELECT `+DeliveryColumns+` FROM deliveries WHERE id = $1 AND webhook_id = $2`, id, webhookID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		// A NULL request body stands for the event's payload (see
		// RecordResults), put back here.
		rows, err := q.Query(ctx, `
			SELECT a.number, a.started_at, a.duration_us, a.request_url, a.request_headers,
				coalesce(a.request_body, e.payload), a.response_status, a.response_headers, a.response_body, a.error
			FROM attempts a
			LEFT JOIN events e ON e.id = $2
			WHERE a.delivery_id = $1
			ORDER BY a.number`, id, nullString(d.EventID))
		attempts, err = collect(rows, err, s.scanAttempt)
		if err != nil {
			return fmt.Errorf("reading attempts: %w", err)
		}
		for _, a := range attempts {
			a.DeliveryID = id
		}
		return nil
	})
	if err != nil {
		return nil, nil, s.fail(err, "reading delivery %s", id)
	}
	return d, attempts, nil
}

// Deliveries lists a webhook's deliveries newest first, filtered by f. A
// Limit of zero or less means no limit.
func (s *Store) Deliveries(ctx context.Context, f hookshot.DeliveryFilter) ([]*hookshot.Delivery, error) {
	var args params
	where := []string{"webhook_id = " + args.add(f.WebhookID)}
	if f.Status != "" {
		where = append(where, "status = "+args.add(string(f.Status)))
	}
	if f.Event != "" {
		where = append(where, "event = "+args.add(f.Event))
	}
	if f.ID != "" {
		where = append(where, "id = "+args.add(f.ID))
	}
	if f.EventID != "" {
		where = append(where, "event_id = "+args.add(f.EventID))
	}
	where = append(where, s.createdWithin(&args, f.Since, f.Until)...)
	if f.Before != nil {
		// A row value comparison, so that the index of a webhook's
		// deliveries serves the page directly: PostgreSQL's, on (webhook_id,
		// created_at DESC, id DESC), seeks on both; SQLite's, on (webhook_id,
		// created_at), on created_at.
		where = append(where, "(created_at, id) < ("+args.add(s.e.Time(Timestamp(f.Before.CreatedAt)))+", "+args.add(f.Before.ID)+")")
	}
	query := `SELECT ` + DeliveryColumns + ` FROM deliveries WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		query += " LIMIT " + args.add(f.Limit)
	}
	rows, err := s.e.Reader().Query(ctx, query, args...)
	out, err := collect(rows, err, s.scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("%s: listing deliveries of webhook %d: %w", s.name, f.WebhookID, err)
	}
	return out, nil
}

// ResendDelivery puts a finished delivery back in progress, due at now,
// with room for exactly one more attempt. A delivery still in progress
// becomes due at now with room for one more attempt than it had, so that
// the attempt asked for spends none of its scheduled retries (retry now);
// one leased for an attempt right now is left alone, since what was
// asked for is under way. It appends e when it is not nil, in one
// transaction. Returns ErrNotFound.
func (s *Store) ResendDelivery(ctx context.Context, webhookID int64, id string, now time.Time, e *hookshot.AuditEntry) (*hookshot.Delivery, error) {
	now = Timestamp(now)
	var d *hookshot.Delivery
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		var err error
		d, err = ScanDelivery(s.e, tx.QueryRow(ctx, `
			UPDATE deliveries
			SET max_attempts = CASE WHEN status = 'in_progress' THEN max_attempts + 1 ELSE attempts + 1 END,
				status = 'in_progress', next_attempt_at = $3, updated_at = $3
			WHERE id = $1 AND webhook_id = $2 AND lease_owner IS NULL
			RETURNING `+DeliveryColumns, id, webhookID, s.e.Time(now)))
		if errors.Is(err, sql.ErrNoRows) {
			d, err = ScanDelivery(s.e, tx.QueryRow(ctx, `SELECT `+DeliveryColumns+` FROM deliveries WHERE id = $1 AND webhook_id = $2`,
				id, webhookID))
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("delivery %s of webhook %d: %w", id, webhookID, hookshot.ErrNotFound)
			}
			return 0, err
		}
		if err != nil {
			return 0, err
		}
		return 0, s.e.DeliveriesDue(ctx, tx)
	})
	if err != nil {
		return nil, s.fail(err, "resending delivery %s", id)
	}
	return d, nil
}
