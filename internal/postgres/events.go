package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

// PublishEvent inserts ev and its deliveries in one transaction and
// notifies listening processes when there is something to deliver.
//
// With a key, the key is claimed first, by an insert that waits for any
// concurrent publish under the same key to commit or roll back: of two
// processes publishing the same key at once, one stores the event and the
// other answers it (Replayed). A key whose created_at is before
// key.NotBefore has expired and is taken over by this publish. A live key
// with another RequestHash is ErrIdempotencyMismatch.
//
// Deliveries for webhooks deleted meanwhile are dropped from the
// publication rather than failing it.
func (s *Store) PublishEvent(ctx context.Context, ev *hookshot.Event, deliveries []*hookshot.Delivery, key *hookshot.IdempotencyKey) (*hookshot.Publication, error) {
	ev.CreatedAt = columns.Stamp(ev.CreatedAt)
	for _, d := range deliveries {
		d.EventID = ev.ID
	}
	var pub *hookshot.Publication
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if key != nil {
			var claimed bool
			var err error
			pub, claimed, err = claimKey(ctx, tx, ev, key)
			if err != nil || !claimed {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO events (id, study_id, type, payload, trace_parent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			ev.ID, ev.StudyID, ev.Type, payloadBytes(ev.Payload), ev.TraceParent, ev.CreatedAt); err != nil {
			return fmt.Errorf("inserting event: %w", err)
		}
		inserted, err := insertDeliveries(ctx, tx, deliveries)
		if err != nil {
			return err
		}
		pub = &hookshot.Publication{Event: ev, Deliveries: inserted}
		if len(inserted) > 0 {
			return notify(ctx, tx)
		}
		return nil
	})
	if errors.Is(err, hookshot.ErrIdempotencyMismatch) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: publishing event %s: %w", ev.ID, err)
	}
	return pub, nil
}

// claimKey takes the idempotency key for ev. It reports claimed when this
// publish owns the key and must go on to store ev; otherwise it returns
// the earlier publication under the key.
func claimKey(ctx context.Context, tx pgx.Tx, ev *hookshot.Event, key *hookshot.IdempotencyKey) (*hookshot.Publication, bool, error) {
	// ON CONFLICT DO UPDATE (rather than DO NOTHING) so that an expired key
	// is taken over in the same statement; its WHERE leaves a live key
	// alone, and then no row comes back.
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (study_id, key, request_hash, event_id, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (study_id, key) DO UPDATE
			SET request_hash = excluded.request_hash, event_id = excluded.event_id, created_at = excluded.created_at
			WHERE idempotency_keys.created_at < $6`,
		ev.StudyID, key.Key, key.RequestHash, ev.ID, ev.CreatedAt, columns.Timestamp(key.NotBefore))
	if err != nil {
		return nil, false, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, true, nil
	}
	var hash, eventID string
	if err := tx.QueryRow(ctx, `SELECT request_hash, event_id FROM idempotency_keys WHERE study_id = $1 AND key = $2`,
		ev.StudyID, key.Key).Scan(&hash, &eventID); err != nil {
		return nil, false, fmt.Errorf("reading idempotency key: %w", err)
	}
	if hash != key.RequestHash {
		return nil, false, fmt.Errorf("idempotency key %q of study %d: %w", key.Key, ev.StudyID, hookshot.ErrIdempotencyMismatch)
	}
	var earlier hookshot.Event
	err = tx.QueryRow(ctx, `SELECT id, study_id, type, payload, trace_parent, created_at FROM events WHERE id = $1`, eventID).
		Scan(&earlier.ID, &earlier.StudyID, &earlier.Type, &earlier.Payload, &earlier.TraceParent, &earlier.CreatedAt)
	if err != nil {
		return nil, false, fmt.Errorf("reading event %s of idempotency key: %w", eventID, err)
	}
	earlier.CreatedAt = earlier.CreatedAt.UTC()
	rows, err := tx.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE event_id = $1 ORDER BY created_at, id`, eventID)
	if err != nil {
		return nil, false, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, false, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	return &hookshot.Publication{Event: &earlier, Deliveries: ds, Replayed: true}, false, nil
}

// payloadBytes keeps a nil payload from becoming NULL in a NOT NULL
// column; an event always has a payload, but the store need not rely on it.
func payloadBytes(p []byte) []byte {
	if p == nil {
		return []byte{}
	}
	return p
}
