package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
)

var _ hookshot.Pruner = (*Store)(nil)

// keptValidations is the condition that keeps each webhook's current
// validation delivery: the webhook's validation state names it, and a
// link to a pruned delivery would read 404. Webhooks are few, so both
// engines read this subquery once per statement.
const keptValidations = `id NOT IN ` + validationIDs

// validationIDs is the subquery of every webhook's current validation
// delivery.
const validationIDs = `(SELECT validation_delivery_id FROM webhooks WHERE validation_delivery_id IS NOT NULL)`

// skipLocked is the clause that locks the rows a batch selects, passing
// over rows another process's batch (or a resend, a claim) holds, so that
// processes pruning one PostgreSQL database at once never wait on each
// other and never delete a row that changed under them. On SQLite the
// write transaction holds the whole database and there is no clause.
func (s *Store) skipLocked() string {
	if lock := s.e.ForUpdate(); lock != "" {
		return lock + " SKIP LOCKED"
	}
	return ""
}

// PruneBatch deletes at most p.Limit rows of each kind that p selects, one
// short write transaction per kind, in the order that lets each go:
// expired idempotency keys first (they name events), then finished
// deliveries with their attempts (they name events too), then events,
// then audit entries.
func (s *Store) PruneBatch(ctx context.Context, p hookshot.Prune) (hookshot.PruneCounts, error) {
	var c hookshot.PruneCounts
	if p.Limit <= 0 {
		return c, fmt.Errorf("%s: pruning: the batch limit %d is not positive", s.name, p.Limit)
	}
	var err error
	if !p.KeysBefore.IsZero() {
		if c.IdempotencyKeys, err = s.pruneRows(ctx, `
			DELETE FROM idempotency_keys WHERE created_at < $1 AND (study_id, key) IN (
				SELECT study_id, key FROM idempotency_keys WHERE created_at < $1
				ORDER BY created_at LIMIT $2 `+s.skipLocked()+`)`, p.KeysBefore, p.Limit); err != nil {
			return c, s.fail(err, "pruning idempotency keys")
		}
	}
	if !p.FinishedBefore.IsZero() {
		if c.Deliveries, c.Attempts, err = s.pruneDeliveries(ctx, p); err != nil {
			return c, s.fail(err, "pruning deliveries")
		}
		if c.Events, err = s.pruneEvents(ctx, p); err != nil {
			return c, s.fail(err, "pruning events")
		}
	}
	if !p.AuditBefore.IsZero() {
		if c.AuditEntries, err = s.pruneRows(ctx, `
			DELETE FROM audit_log WHERE id IN (
				SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 `+s.skipLocked()+`)`, p.AuditBefore, p.Limit); err != nil {
			return c, s.fail(err, "pruning audit entries")
		}
	}
	return c, nil
}

// pruneRows runs one deleting statement of a time and a limit in a write
// transaction of its own.
func (s *Store) pruneRows(ctx context.Context, query string, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		var err error
		n, err = tx.Exec(ctx, query, s.e.Time(Timestamp(before)), limit)
		return err
	})
	return n, err
}

// pruneDeliveries deletes a batch of finished deliveries and their
// attempts. The attempts are deleted by name rather than by the cascade,
// so that the count says how many went.
func (s *Store) pruneDeliveries(ctx context.Context, p hookshot.Prune) (deliveries, attempts int64, err error) {
	err = s.e.WriteTx(ctx, func(tx Querier) error {
		rows, err := tx.Query(ctx, `
			SELECT id FROM deliveries
			WHERE status <> 'in_progress' AND updated_at < $1 AND `+keptValidations+`
			ORDER BY updated_at LIMIT $2 `+s.skipLocked(), s.e.Time(Timestamp(p.FinishedBefore)), p.Limit)
		ids, err := collect(rows, err, func(r Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		if attempts, err = tx.Exec(ctx, `DELETE FROM attempts WHERE `+s.e.AnyOf("delivery_id", "$1"), s.e.Strings(ids)); err != nil {
			return err
		}
		// The rows are locked (or the database is), so none went back in
		// progress since they were selected; the status is checked anyway,
		// because a delivery in progress must never go.
		deliveries, err = tx.Exec(ctx, `DELETE FROM deliveries WHERE status <> 'in_progress' AND `+s.e.AnyOf("id", "$1"), s.e.Strings(ids))
		if err == nil && deliveries != int64(len(ids)) {
			err = errors.New("a selected delivery changed while locked") // rolls the attempts back too
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return deliveries, attempts, nil
}

// unreferenced is the condition that no delivery and no idempotency key
// names the event e.
const unreferenced = `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
	AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.event_id = e.id)`

// pruneEvents deletes a batch of old events that nothing names any more:
// their deliveries are gone (the attempts of a delivery that is kept read
// their request body from the event) and so are their keys (a replayed
// publish answers with the event).
func (s *Store) pruneEvents(ctx context.Context, p hookshot.Prune) (int64, error) {
	var n int64
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		rows, err := tx.Query(ctx, `
			SELECT e.id FROM events e WHERE e.created_at < $1 AND `+unreferenced+`
			ORDER BY e.created_at LIMIT $2 `+s.skipLocked(), s.e.Time(Timestamp(p.FinishedBefore)), p.Limit)
		ids, err := collect(rows, err, func(r Rows) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		// Checked again: on PostgreSQL a delivery may have been inserted
		// for an event between the snapshot and the lock.
		n, err = tx.Exec(ctx, `DELETE FROM events AS e WHERE `+s.e.AnyOf("e.id", "$1")+` AND `+unreferenced, s.e.Strings(ids))
		return err
	})
	return n, err
}

// CountPrunable counts, in one read transaction, what PruneBatch would
// delete with p if it ran until nothing was left: the events counted are
// those whose deliveries and keys would all go too.
func (s *Store) CountPrunable(ctx context.Context, p hookshot.Prune) (hookshot.PruneCounts, error) {
	var c hookshot.PruneCounts
	// Keys that stay: every key when keys are not pruned.
	keysBefore := Timestamp(p.KeysBefore)
	if p.KeysBefore.IsZero() {
		keysBefore = Timestamp(time.Unix(0, 0))
	}
	err := s.e.ReadTx(ctx, func(q Querier) error {
		if !p.KeysBefore.IsZero() {
			if err := q.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE created_at < $1`,
				s.e.Time(keysBefore)).Scan(&c.IdempotencyKeys); err != nil {
				return fmt.Errorf("counting idempotency keys: %w", err)
			}
		}
		if !p.FinishedBefore.IsZero() {
			before := s.e.Time(Timestamp(p.FinishedBefore))
			if err := q.QueryRow(ctx, `
				SELECT count(*), coalesce(sum((SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id)), 0)
				FROM deliveries d
				WHERE d.status <> 'in_progress' AND d.updated_at < $1 AND d.`+keptValidations,
				before).Scan(&c.Deliveries, &c.Attempts); err != nil {
				return fmt.Errorf("counting deliveries: %w", err)
			}
			if err := q.QueryRow(ctx, `
				SELECT count(*) FROM events e
				WHERE e.created_at < $1
				AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
					AND (d.status = 'in_progress' OR d.updated_at >= $1 OR d.id IN `+validationIDs+`))
				AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.event_id = e.id AND k.created_at >= $2)`,
				before, s.e.Time(keysBefore)).Scan(&c.Events); err != nil {
				return fmt.Errorf("counting events: %w", err)
			}
		}
		if !p.AuditBefore.IsZero() {
			if err := q.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE at < $1`,
				s.e.Time(Timestamp(p.AuditBefore))).Scan(&c.AuditEntries); err != nil {
				return fmt.Errorf("counting audit entries: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return hookshot.PruneCounts{}, s.fail(err, "counting what to prune")
	}
	return c, nil
}

// ReleaseAllLeases hands every lease back, as ReleaseDeliveries does for
// one owner's: due at the earlier of now and the delivery's updated_at, a
// time no later than when it first fell due, so it keeps its place.
func (s *Store) ReleaseAllLeases(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		var err error
		n, err = tx.Exec(ctx, `
			UPDATE deliveries
			SET lease_owner = NULL, next_attempt_at = CASE WHEN updated_at < $1 THEN updated_at ELSE $1 END
			WHERE status = 'in_progress' AND lease_owner IS NOT NULL`, s.e.Time(Timestamp(now)))
		return err
	})
	if err != nil {
		return 0, s.fail(err, "releasing every lease")
	}
	return n, nil
}
