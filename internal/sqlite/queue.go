package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlstore"
)

// The queue's statements, prepared once (see prepare). Lists of ids are
// bound as one JSON array and expanded by json_each, so that each
// statement has one text whatever the batch size, and stays prepared.
const (
	// claimSelectSQL finds the due deliveries through the partial index
	// deliveries_due_webhook, in due order. The conditions on webhook_id
	// come first, and before event in the OR, so that the deliveries of
	// skipped webhooks are passed over on the index alone, without a seek
	// into the table for each (migration 0014). Leased rows are due only
	// when their lease runs out, so the scan never walks past them. The
	// select and the update are two statements, not one UPDATE ...
	// RETURNING, because RETURNING sees the new due time, and jobs are
	// handed out in the order of the old one; the write transaction holds
	// the lock between them. Deliveries of a disabled webhook are held
	// (SPEC §14): they keep their due time, and so their place, for when
	// it is enabled again; its validation requests still go out. Relays
	// (webhooks of `hookshot listen`) are skipped: their CLI claims their
	// deliveries.
	claimSelectSQL = `
		SELECT ` + sqlstore.DeliveryColumns + `, rowid FROM deliveries
		WHERE status = 'in_progress' AND next_attempt_at <= ?1
			AND webhook_id NOT IN (SELECT value FROM json_each(?2))
			AND webhook_id NOT IN (SELECT webhook_id FROM relays)
			AND (webhook_id NOT IN (SELECT id FROM webhooks WHERE NOT active) OR event = 'validation')
		ORDER BY next_attempt_at
		LIMIT ?3`
	// claimUpdateSQL leases the selected rows: moving next_attempt_at to
	// the end of the lease takes them out of the due set without a
	// separate "running" state.
	claimUpdateSQL = `
		UPDATE deliveries SET lease_owner = ?1, next_attempt_at = ?2
		WHERE rowid IN (SELECT value FROM json_each(?3))`

	// The hot inserts below are single rows of VALUES, each with its
	// condition folded into a NOT NULL column as a scalar subquery that
	// yields NULL when it fails, and OR IGNORE to skip that row. An
	// INSERT ... SELECT, as they were written before, counts as a write
	// of several rows that may stop half-way (on a NOT NULL, UNIQUE or
	// foreign key check), and SQLite gives each such statement a journal
	// of its own, copying every page it changes first: 4 KiB for each of
	// the table's and its indexes' pages, a tenth of the write path's CPU
	// with the savepoints of the group commit. A single row is checked
	// before anything is written and needs no such journal. OR IGNORE
	// skips a row for any violation, not only for the condition: when a
	// fast statement inserts nothing, the checked one follows and says
	// which it was, refusing a conflict as it always did.

	// insertDeliverySQL inserts a delivery unless its webhook is gone
	// (then NULL for webhook_id); insertCheckedSQL follows when it
	// inserts nothing.
	insertDeliverySQL = `
		INSERT OR IGNORE INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at)
		VALUES (?1, (SELECT id FROM webhooks WHERE id = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`
	// insertCheckedSQL inserts a delivery unless its webhook is gone, and
	// fails on a conflict. The write lock held since BEGIN keeps the
	// webhook from going between the check and the insert.
	insertCheckedSQL = `
		INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13
		WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?2)`
	// insertLeasedSQL inserts a delivery leased to ?14 until ?9, as a
	// claim would lease it, when its webhook is one the engine claims for:
	// enabled, and not a relay (see claimSelectSQL). Otherwise it inserts
	// nothing, and the delivery goes in due, through insertDeliverySQL.
	insertLeasedSQL = `
		INSERT OR IGNORE INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at, lease_owner)
		VALUES (?1,
			(SELECT id FROM webhooks WHERE id = ?2 AND active AND NOT EXISTS (SELECT 1 FROM relays WHERE webhook_id = ?2)),
			?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)`

	// recordAttemptSQL stores an attempt under the number it was made as,
	// unless its delivery is gone (then NULL for delivery_id) or the
	// number is taken, in which case it changes no row and
	// recordMovedAttemptSQL follows. The number is taken only after a
	// lease ran out: the old and the new owner may both have made attempt
	// n, and both really reached the receiver. A free number is past
	// every stored one, since numbers follow the delivery's attempts and
	// attempts go only with their delivery. It is a single row of VALUES
	// for the reason given above insertDeliverySQL; recordMovedAttemptSQL,
	// which follows whenever it stores nothing, fails on any other
	// violation as this one did before.
	//
	// The request body is left NULL when it is the event's payload, which
	// reads fill back in, so a payload is not stored again for each
	// attempt. Any other body of an event delivery is stored, an absent
	// one as empty so that it does not read back as the payload.
	//
	// The record statements are plain executions, not queries returning
	// rows: through database/sql a query costs several times an
	// execution, and they run once per result.
	recordAttemptSQL = `
		INSERT OR IGNORE INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
			request_body, response_status, response_headers, response_body, error)
		VALUES ((SELECT id FROM deliveries WHERE id = ?1), ?2, ?3, ?4, ?5, ?6,
			(SELECT ` + recordBodySQL + ` FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE d.id = ?1),
			?8, ?9, ?10, ?11)`
	// recordMovedAttemptSQL stores an attempt whose number was taken, or
	// whose delivery is gone (then changing no row), past the delivery's
	// highest attempt.
	recordMovedAttemptSQL = `
		INSERT INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
			request_body, response_status, response_headers, response_body, error)
		SELECT d.id,
			max(?2, coalesce((SELECT max(a.number) FROM attempts a WHERE a.delivery_id = d.id), 0) + 1),
			?3, ?4, ?5, ?6,` + recordBodySQL + `, ?8, ?9, ?10, ?11
		FROM deliveries d LEFT JOIN events e ON e.id = d.event_id
		WHERE d.id = ?1`
	// recordBodySQL is the request body the record statements store (see
	// recordAttemptSQL).
	recordBodySQL = `
			CASE
				WHEN d.event_id IS NULL THEN ?7
				WHEN ?7 = e.payload THEN NULL
				ELSE coalesce(?7, x'')
			END`
	// recordDeliverySQL moves the delivery on only while owner still
	// holds its lease; a delivery claimed by another process after the
	// lease ran out keeps the state that process gives it. Attempts
	// becomes the number the attempt was stored under, the highest.
	recordDeliverySQL = `
		UPDATE deliveries
		SET status = ?1, max_attempts = ?2, next_attempt_at = ?3, lease_owner = NULL, updated_at = ?4,
			attempts = max(attempts + 1,
				coalesce((SELECT max(a.number) FROM attempts a WHERE a.delivery_id = deliveries.id), 0))
		WHERE id = ?5 AND lease_owner = ?6`
	// recordValidationSQL applies a validation outcome only while the
	// delivery is still its webhook's current validation delivery: an
	// answer to an older request must not overwrite a newer one's state.
	// The webhook is found through the delivery, not Result.WebhookID,
	// so that a wrong id cannot touch another webhook.
	recordValidationSQL = `
		UPDATE webhooks SET validation_status = ?1, validation_checked_at = ?2
		WHERE id = (SELECT webhook_id FROM deliveries WHERE id = ?3) AND validation_delivery_id = ?3`
	// releaseSQL makes released deliveries due at the earlier of now and
	// their updated_at, a time no later than when they first fell due, so
	// that they are claimable at once and keep roughly their place in line.
	releaseSQL = `
		UPDATE deliveries SET lease_owner = NULL, next_attempt_at = min(?1, updated_at)
		WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3 AND status = 'in_progress'`
)

// statements pairs each prepared statement with its SQL.
func (e *engine) statements() map[**sql.Stmt]string {
	return map[**sql.Stmt]string{
		&e.claimSelect:      claimSelectSQL,
		&e.claimUpdate:      claimUpdateSQL,
		&e.insertDelivery:   insertDeliverySQL,
		&e.insertChecked:    insertCheckedSQL,
		&e.insertLeased:     insertLeasedSQL,
		&e.recordAttempt:    recordAttemptSQL,
		&e.recordMoved:      recordMovedAttemptSQL,
		&e.recordDelivery:   recordDeliverySQL,
		&e.recordValidation: recordValidationSQL,
		&e.release:          releaseSQL,
		&e.healthForget:     healthForgetSQL,
	}
}

// prepare prepares the queue's statements on the write connection. Since
// that pool has one connection, tx.StmtContext finds each statement
// already prepared on it, and a claim or a batch of results costs no
// parsing or planning.
func (e *engine) prepare(ctx context.Context) error {
	for stmt, query := range e.statements() {
		st, err := e.write.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(query), " "), err)
		}
		*stmt = st
	}
	return nil
}

// ClaimDue selects and leases due deliveries in tx (see claimSelectSQL).
func (e *engine) ClaimDue(ctx context.Context, tx sqlstore.Querier, c hookshot.Claim) ([]*hookshot.Delivery, error) {
	leaseEnd := sqlstore.Timestamp(c.Now.Add(c.LeaseFor))
	rows, err := e.stmt(ctx, tx, e.claimSelect).QueryContext(ctx, c.Now.UnixMicro(), int64List(c.SkipWebhooks), c.Limit)
	if err != nil {
		return nil, err
	}
	var (
		claimed []*hookshot.Delivery
		rowids  []int64
	)
	for rows.Next() {
		var rowid int64
		d, err := sqlstore.ScanDelivery(e, rows, &rowid)
		if err != nil {
			rows.Close()
			return nil, err
		}
		d.NextAttemptAt = leaseEnd
		claimed = append(claimed, d)
		rowids = append(rowids, rowid)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(claimed) == 0 {
		return nil, nil
	}
	if _, err := e.stmt(ctx, tx, e.claimUpdate).ExecContext(ctx, c.Owner, leaseEnd.UnixMicro(), int64List(rowids)); err != nil {
		return nil, fmt.Errorf("leasing: %w", err)
	}
	return claimed, nil
}

// InsertDeliveries inserts ds one by one with prepared statements: those
// with a LeaseOwner leased when they may be (insertLeasedSQL), the others
// and the rest due (insertDeliverySQL, and insertCheckedSQL when that
// inserts nothing).
func (e *engine) InsertDeliveries(ctx context.Context, tx sqlstore.Querier, ds []*hookshot.Delivery) ([]string, error) {
	var insert, leased, checked memberStmt
	inserted := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.LeaseOwner != "" {
			if leased.st == nil {
				leased = e.stmt(ctx, tx, e.insertLeased)
			}
			res, err := leased.ExecContext(ctx, d.ID, d.WebhookID, d.StudyID, nullString(d.EventID), d.Event,
				string(d.Status), d.Attempts, d.MaxAttempts, d.LeaseUntil.UnixMicro(), nullString(d.ValidationCode),
				d.TraceParent, d.CreatedAt.UnixMicro(), d.UpdatedAt.UnixMicro(), d.LeaseOwner)
			if n, err := affected(res, err); err != nil {
				return nil, fmt.Errorf("delivery %s: %w", d.ID, err)
			} else if n == 1 {
				inserted = append(inserted, d.ID)
				continue
			}
			d.LeaseOwner, d.LeaseUntil = "", time.Time{}
		}
		if insert.st == nil {
			insert = e.stmt(ctx, tx, e.insertDelivery)
		}
		args := []any{d.ID, d.WebhookID, d.StudyID, nullString(d.EventID), d.Event,
			string(d.Status), d.Attempts, d.MaxAttempts, d.NextAttemptAt.UnixMicro(), nullString(d.ValidationCode),
			d.TraceParent, d.CreatedAt.UnixMicro(), d.UpdatedAt.UnixMicro()}
		n, err := affected(insert.ExecContext(ctx, args...))
		if err == nil && n == 0 {
			if checked.st == nil {
				checked = e.stmt(ctx, tx, e.insertChecked)
			}
			n, err = affected(checked.ExecContext(ctx, args...))
		}
		if err != nil {
			return nil, fmt.Errorf("delivery %s: %w", d.ID, err)
		} else if n == 1 {
			inserted = append(inserted, d.ID)
		}
	}
	return inserted, nil
}

// RecordResults runs the record statements for each result in tx (see the
// record*SQL statements for the rules).
func (e *engine) RecordResults(ctx context.Context, tx sqlstore.Querier, owner string, results []sqlstore.EncodedResult) error {
	insert := e.stmt(ctx, tx, e.recordAttempt)
	var moved *memberStmt // rarely needed
	update := e.stmt(ctx, tx, e.recordDelivery)
	validate := e.stmt(ctx, tx, e.recordValidation)
	for _, r := range results {
		a := r.Attempt
		args := []any{a.DeliveryID, a.Number, a.StartedAt.UnixMicro(), a.Duration.Microseconds(),
			a.Request.URL, r.RequestHeaders, a.Request.Body, r.ResponseStatus, r.ResponseHeaders,
			r.ResponseBody, a.Error}
		n, err := affected(insert.ExecContext(ctx, args...))
		if err == nil && n == 0 {
			if moved == nil {
				st := e.stmt(ctx, tx, e.recordMoved)
				moved = &st
			}
			n, err = affected(moved.ExecContext(ctx, args...))
		}
		if err != nil {
			return fmt.Errorf("inserting attempt %d of delivery %s: %w", a.Number, a.DeliveryID, err)
		} else if n == 0 {
			continue // the delivery was deleted with its webhook
		}
		ended := a.StartedAt.Add(a.Duration.Truncate(time.Microsecond))
		if n, err := affected(update.ExecContext(ctx, string(r.Status), r.MaxAttempts, r.NextAttemptAt.UnixMicro(),
			ended.UnixMicro(), a.DeliveryID, owner)); err != nil {
			return fmt.Errorf("updating delivery %s: %w", a.DeliveryID, err)
		} else if n == 0 {
			continue // the lease passed to another owner
		}
		if r.Validation == nil {
			continue
		}
		if _, err := validate.ExecContext(ctx, string(*r.Validation), a.StartedAt.UnixMicro(), a.DeliveryID); err != nil {
			return fmt.Errorf("updating validation of webhook %d: %w", r.WebhookID, err)
		}
	}
	return nil
}

// ReleaseDeliveries runs releaseSQL; the releasing process's clock is the
// clock of every process that shares the file, since they share a machine.
func (e *engine) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	return e.WriteTx(ctx, func(tx sqlstore.Querier) error {
		_, err := e.stmt(ctx, tx, e.release).ExecContext(ctx, time.Now().UnixMicro(), e.Strings(ids), owner)
		return err
	})
}

// affected is how many rows an execution changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
