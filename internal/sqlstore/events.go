package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookshot/hookshot"
)

// PublishEvent inserts ev and its deliveries in one transaction, and wakes
// the other processes when there is something for them to deliver: not
// for deliveries leased to this process's engine (Delivery.LeaseOwner).
//
// With a key, the key is claimed first, by an insert that waits for any
// concurrent publish under the same key to commit or roll back (on SQLite
// the write transaction holds the database's write lock from its start,
// so there is none): of two processes publishing the same key at once, one
// stores the event and the other answers it (Replayed). A key whose
// created_at is before key.NotBefore has expired and is taken over by this
// publish. A live key with another RequestHash is ErrIdempotencyMismatch.
// Either way nothing is created but by the publish that owns the key.
//
// Deliveries for webhooks deleted meanwhile are dropped from the
// publication rather than failing it. ev.CreatedAt and the deliveries'
// times are normalised, a zero one filled with the current time, and each
// delivery's EventID is set to ev.ID.
func (s *Store) PublishEvent(ctx context.Context, ev *hookshot.Event, deliveries []*hookshot.Delivery, key *hookshot.IdempotencyKey) (*hookshot.Publication, error) {
	var pub *hookshot.Publication
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		var err error
		pub, err = s.publishInTx(ctx, tx, ev, deliveries, key)
		if err != nil || !dueNow(pub) {
			return err
		}
		return s.e.DeliveriesDue(ctx, tx)
	})
	if err != nil {
		return nil, s.fail(err, "publishing event %s", ev.ID)
	}
	return pub, nil
}

// dueNow reports whether pub created deliveries that any process may
// claim, i.e. that were not leased to this one at the insert.
func dueNow(pub *hookshot.Publication) bool {
	if pub.Replayed {
		return false
	}
	for _, d := range pub.Deliveries {
		if d.LeaseOwner == "" {
			return true
		}
	}
	return false
}

// publishInTx is PublishEvent inside a write transaction that the caller
// began and wakes the other processes after.
func (s *Store) publishInTx(ctx context.Context, tx Querier, ev *hookshot.Event, deliveries []*hookshot.Delivery, key *hookshot.IdempotencyKey) (*hookshot.Publication, error) {
	ev.CreatedAt = stamp(ev.CreatedAt)
	for _, d := range deliveries {
		d.EventID = ev.ID
	}
	if key != nil {
		pub, claimed, err := s.claimKey(ctx, tx, ev, key)
		if err != nil || !claimed {
			return pub, err
		}
	}
	payload := ev.Payload
	if payload == nil {
		payload = []byte{} // a nil []byte would be NULL in a NOT NULL column
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO events (id, study_id, type, payload, trace_parent, test, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.ID, ev.StudyID, ev.Type, payload, ev.TraceParent, ev.Test, s.e.Time(ev.CreatedAt)); err != nil {
		return nil, fmt.Errorf("inserting event: %w", err)
	}
	inserted, err := s.insertDeliveries(ctx, tx, deliveries)
	if err != nil {
		return nil, err
	}
	return &hookshot.Publication{Event: ev, Deliveries: inserted}, nil
}

// claimKey takes the idempotency key for ev. It reports claimed when this
// publish owns the key and must go on to store ev; otherwise it returns
// the earlier publication under the key.
func (s *Store) claimKey(ctx context.Context, tx Querier, ev *hookshot.Event, key *hookshot.IdempotencyKey) (*hookshot.Publication, bool, error) {
	// The key names the event before the event exists.
	if err := s.e.DeferForeignKeys(ctx, tx); err != nil {
		return nil, false, fmt.Errorf("deferring foreign keys: %w", err)
	}
	// ON CONFLICT DO UPDATE (rather than DO NOTHING) so that an expired key
	// is taken over in the same statement; its WHERE leaves a live key
	// alone, and then no row changes.
	n, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (study_id, key, request_hash, event_id, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (study_id, key) DO UPDATE
			SET request_hash = excluded.request_hash, event_id = excluded.event_id, created_at = excluded.created_at
			WHERE idempotency_keys.created_at < $6`,
		ev.StudyID, key.Key, key.RequestHash, ev.ID, s.e.Time(ev.CreatedAt), s.e.Time(Timestamp(key.NotBefore)))
	if err != nil {
		return nil, false, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if n == 1 {
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
		Scan(&earlier.ID, &earlier.StudyID, &earlier.Type, &earlier.Payload, &earlier.TraceParent, s.e.ScanTime(&earlier.CreatedAt))
	if err != nil {
		return nil, false, fmt.Errorf("reading event %s of idempotency key: %w", eventID, err)
	}
	rows, err := tx.Query(ctx, `SELECT `+DeliveryColumns+` FROM deliveries WHERE event_id = $1 ORDER BY created_at, id`, eventID)
	ds, err := collect(rows, err, s.scanDelivery)
	if err != nil {
		return nil, false, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	return &hookshot.Publication{Event: &earlier, Deliveries: ds, Replayed: true}, false, nil
}

// insertDeliveries inserts ds through the engine and returns those whose
// webhook still exists: a delivery for a webhook deleted meanwhile is
// dropped rather than failing the foreign key, and with it the whole
// publication. The callers' structs get their times normalised.
func (s *Store) insertDeliveries(ctx context.Context, tx Querier, ds []*hookshot.Delivery) ([]*hookshot.Delivery, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	for _, d := range ds {
		d.CreatedAt = stamp(d.CreatedAt)
		d.UpdatedAt = stamp(d.UpdatedAt)
		d.NextAttemptAt = Timestamp(d.NextAttemptAt)
		if d.LeaseOwner != "" {
			d.LeaseUntil = Timestamp(d.LeaseUntil)
		}
	}
	inserted, err := s.e.InsertDeliveries(ctx, tx, ds)
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
