package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// RecoverDeliveries gives every failed event delivery of a webhook created
// in [since, until) one more attempt, due at now, and appends e, in one
// transaction, through the (webhook_id, created_at) index. Validation
// requests are left out: a new one is what Validate starts.
func (s *Store) RecoverDeliveries(ctx context.Context, webhookID int64, since, until, now time.Time, e *hookshot.AuditEntry) (int, error) {
	now = Timestamp(now)
	var n int64
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		var err error
		n, err = tx.Exec(ctx, `
			UPDATE deliveries
			SET status = 'in_progress', max_attempts = attempts + 1, next_attempt_at = $4, lease_owner = NULL, updated_at = $4
			WHERE webhook_id = $1 AND status = 'failed' AND event <> 'validation'
				AND created_at >= $2 AND created_at < $3`,
			webhookID, s.e.Time(Timestamp(since)), s.e.Time(Timestamp(until)), s.e.Time(now))
		if err != nil {
			return 0, err
		}
		fillCount(e, n)
		if n > 0 {
			return 0, s.e.DeliveriesDue(ctx, tx)
		}
		return 0, nil
	})
	if err != nil {
		return 0, s.fail(err, "recovering deliveries of webhook %d", webhookID)
	}
	return int(n), nil
}

// fillCount puts n in place of hookshot.AuditCount in e's Detail.
func fillCount(e *hookshot.AuditEntry, n int64) {
	if e != nil {
		e.Detail = strings.ReplaceAll(e.Detail, hookshot.AuditCount, strconv.FormatInt(n, 10))
	}
}

// UnreplayedEvents pages through a study's events in [since, until), by
// the events_study_created index, and leaves out those that have a
// delivery to the webhook, by the unique (event_id, webhook_id) index.
func (s *Store) UnreplayedEvents(ctx context.Context, f hookshot.ReplayFilter) ([]*hookshot.Event, error) {
	var args params
	where := []string{
		"e.study_id = " + args.add(f.StudyID),
		"e.created_at >= " + args.add(s.e.Time(Timestamp(f.Since))),
		"e.created_at < " + args.add(s.e.Time(Timestamp(f.Until))),
		s.e.AnyOf("e.type", args.add(s.e.Strings(f.Types))),
		"NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = " + args.add(f.WebhookID) + " AND d.event_id = e.id)",
	}
	if f.After != nil {
		where = append(where, "(e.created_at, e.id) > ("+args.add(s.e.Time(Timestamp(f.After.CreatedAt)))+", "+args.add(f.After.ID)+")")
	}
	query := `SELECT e.id, e.study_id, e.type, e.payload, e.trace_parent, e.created_at FROM events e WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY e.created_at, e.id`
	if f.Limit > 0 {
		query += " LIMIT " + args.add(f.Limit)
	}
	rows, err := s.e.Reader().Query(ctx, query, args...)
	out, err := collect(rows, err, func(r Rows) (*hookshot.Event, error) {
		var ev hookshot.Event
		err := r.Scan(&ev.ID, &ev.StudyID, &ev.Type, &ev.Payload, &ev.TraceParent, s.e.ScanTime(&ev.CreatedAt))
		return &ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: listing events of study %d missed by webhook %d: %w", s.name, f.StudyID, f.WebhookID, err)
	}
	return out, nil
}

// ReplayDeliveries inserts ds, skipping any whose event already has a
// delivery to the webhook (the unique (event_id, webhook_id) index, so
// that two replays at once cannot both deliver an event), and appends e,
// in one transaction. The webhook's row is locked first: it cannot be
// disabled, revalidated or deleted until the deliveries are in.
func (s *Store) ReplayDeliveries(ctx context.Context, webhookID int64, ds []*hookshot.Delivery, e *hookshot.AuditEntry) (int, error) {
	var n int64
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		var (
			active bool
			status string
		)
		err := tx.QueryRow(ctx, `SELECT active, validation_status FROM webhooks WHERE id = $1 `+s.e.ForUpdate(), webhookID).
			Scan(&active, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("webhook %d: %w", webhookID, hookshot.ErrNotFound)
		}
		if err != nil {
			return 0, err
		}
		if active && status == string(hookshot.ValidationPassed) {
			for _, d := range ds {
				d.CreatedAt, d.UpdatedAt, d.NextAttemptAt = stamp(d.CreatedAt), stamp(d.UpdatedAt), Timestamp(d.NextAttemptAt)
				inserted, err := tx.Exec(ctx, `
					INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
						next_attempt_at, validation_code, trace_parent, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
					ON CONFLICT DO NOTHING`,
					d.ID, webhookID, d.StudyID, nullString(d.EventID), d.Event, string(d.Status), d.Attempts, d.MaxAttempts,
					s.e.Time(d.NextAttemptAt), nullString(d.ValidationCode), d.TraceParent, s.e.Time(d.CreatedAt), s.e.Time(d.UpdatedAt))
				if err != nil {
					return 0, fmt.Errorf("inserting delivery %s: %w", d.ID, err)
				}
				n += inserted
			}
		}
		fillCount(e, n)
		if n > 0 {
			return 0, s.e.DeliveriesDue(ctx, tx)
		}
		return 0, nil
	})
	if err != nil {
		return 0, s.fail(err, "replaying events to webhook %d", webhookID)
	}
	return int(n), nil
}
