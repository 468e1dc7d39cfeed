package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

// PublishEvent inserts ev and its deliveries in one transaction.
//
// With a key, a live publication under the same key and study is answered
// instead (Replayed), or, when it was for another RequestHash, refused with
// ErrIdempotencyMismatch; either way nothing is created. A key created
// before key.NotBefore has expired and is taken over by this publication.
// The write transaction holds the database's write lock from its start, so
// two publishes under one key cannot both find it free.
//
// Deliveries for webhooks deleted meanwhile are dropped from the
// publication rather than failing it. ev.CreatedAt and the deliveries'
// times are normalised, a zero one filled with the current time, and each
// delivery's EventID is set to ev.ID.
func (s *Store) PublishEvent(ctx context.Context, ev *hookshot.Event, deliveries []*hookshot.Delivery, key *hookshot.IdempotencyKey) (*hookshot.Publication, error) {
	ev.CreatedAt = columns.Stamp(ev.CreatedAt)
	for _, d := range deliveries {
		d.EventID = ev.ID
	}
	var pub *hookshot.Publication
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if key != nil {
			earlier, err := liveKey(ctx, tx, ev.StudyID, key)
			if err != nil || earlier != nil {
				pub = earlier
				return err
			}
		}
		payload := ev.Payload
		if payload == nil {
			payload = []byte{} // a nil []byte would be NULL
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO events (id, study_id, type, payload, trace_parent, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			ev.ID, ev.StudyID, ev.Type, payload, ev.TraceParent, micros(ev.CreatedAt)); err != nil {
			return fmt.Errorf("inserting event: %w", err)
		}
		inserted, err := insertDeliveries(ctx, tx, deliveries)
		if err != nil {
			return err
		}
		if key != nil {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO idempotency_keys (study_id, key, request_hash, event_id, created_at)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (study_id, key) DO UPDATE
					SET request_hash = excluded.request_hash, event_id = excluded.event_id,
						created_at = excluded.created_at`,
				ev.StudyID, key.Key, key.RequestHash, ev.ID, micros(ev.CreatedAt)); err != nil {
				return fmt.Errorf("storing idempotency key: %w", err)
			}
		}
		pub = &hookshot.Publication{Event: ev, Deliveries: inserted}
		return nil
	})
	if errors.Is(err, hookshot.ErrIdempotencyMismatch) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: publishing event %s: %w", ev.ID, err)
	}
	return pub, nil
}

// liveKey returns the publication stored under key when the key has not
// expired, nil when this publish may go ahead, or ErrIdempotencyMismatch.
func liveKey(ctx context.Context, tx *sql.Tx, studyID int64, key *hookshot.IdempotencyKey) (*hookshot.Publication, error) {
	var (
		hash, eventID string
		createdAt     int64
	)
	err := tx.QueryRowContext(ctx, `
		SELECT request_hash, event_id, created_at FROM idempotency_keys WHERE study_id = ? AND key = ?`,
		studyID, key.Key).Scan(&hash, &eventID, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading idempotency key: %w", err)
	}
	if createdAt < micros(columns.Timestamp(key.NotBefore)) {
		return nil, nil // expired: the caller takes it over
	}
	if hash != key.RequestHash {
		return nil, fmt.Errorf("idempotency key %q of study %d: %w", key.Key, studyID, hookshot.ErrIdempotencyMismatch)
	}
	var (
		earlier hookshot.Event
		at      int64
	)
	err = tx.QueryRowContext(ctx, `SELECT id, study_id, type, payload, trace_parent, created_at FROM events WHERE id = ?`,
		eventID).Scan(&earlier.ID, &earlier.StudyID, &earlier.Type, &earlier.Payload, &earlier.TraceParent, &at)
	if err != nil {
		return nil, fmt.Errorf("reading event %s of idempotency key: %w", eventID, err)
	}
	earlier.CreatedAt = fromMicros(at)
	rows, err := tx.QueryContext(ctx,
		`SELECT `+deliveryColumns+` FROM deliveries WHERE event_id = ? ORDER BY created_at, id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	return &hookshot.Publication{Event: &earlier, Deliveries: ds, Replayed: true}, nil
}
