package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

// The queue's statements, prepared once (see prepare). Lists of ids are
// bound as one JSON array and expanded by json_each, so that each
// statement has one text whatever the batch size, and stays prepared.
const (
	// claimSelectSQL finds the due deliveries through the partial index
	// deliveries_due. Leased rows are due only when their lease runs out,
	// so the scan never walks past them. The select and the update are two
	// statements, not one UPDATE ... RETURNING, because RETURNING sees the
	// new due time, and jobs are handed out in the order of the old one;
	// the write transaction holds the lock between them.
	claimSelectSQL = `
		SELECT rowid, ` + deliveryColumns + ` FROM deliveries
		WHERE status = 'in_progress' AND next_attempt_at <= ?1
			AND webhook_id NOT IN (SELECT value FROM json_each(?2))
		ORDER BY next_attempt_at
		LIMIT ?3`
	// claimUpdateSQL leases the selected rows: moving next_attempt_at to
	// the end of the lease takes them out of the due set without a
	// separate "running" state.
	claimUpdateSQL = `
		UPDATE deliveries SET lease_owner = ?1, next_attempt_at = ?2
		WHERE rowid IN (SELECT value FROM json_each(?3))`
	loadWebhooksSQL = `SELECT ` + webhookColumns + ` FROM webhooks WHERE id IN (SELECT value FROM json_each(?1))`
	loadPayloadsSQL = `SELECT id, payload FROM events WHERE id IN (SELECT value FROM json_each(?1))`

	// recordAttemptSQL stores an attempt unless its delivery is gone, in
	// which case it changes no row:
	//
	//   - the number is moved past any attempt already stored under it:
	//     after a lease ran out, the old and the new owner may both have
	//     made attempt n, and both really reached the receiver;
	//   - the request body is left NULL when it is the event's payload,
	//     which reads fill back in, so a payload is not stored again for
	//     each attempt. Any other body of an event delivery is stored,
	//     an absent one as empty so that it does not read back as the
	//     payload.
	//
	// The record statements are plain executions, not queries returning
	// rows: through database/sql a query costs several times an
	// execution, and they run once per result.
	recordAttemptSQL = `
		INSERT INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
			request_body, response_status, response_headers, response_body, error)
		SELECT d.id,
			max(?2, coalesce((SELECT max(a.number) FROM attempts a WHERE a.delivery_id = d.id), 0) + 1),
			?3, ?4, ?5, ?6,
			CASE
				WHEN d.event_id IS NULL THEN ?7
				WHEN ?7 = e.payload THEN NULL
				ELSE coalesce(?7, x'')
			END,
			?8, ?9, ?10, ?11
		FROM deliveries d LEFT JOIN events e ON e.id = d.event_id
		WHERE d.id = ?1`
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

// prepare prepares the queue's statements on the write connection. Since
// that pool has one connection, tx.StmtContext finds each statement
// already prepared on it, and a claim or a batch of results costs no
// parsing or planning.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.claimSelect, claimSelectSQL},
		{&s.claimUpdate, claimUpdateSQL},
		{&s.loadWebhooks, loadWebhooksSQL},
		{&s.loadPayloads, loadPayloadsSQL},
		{&s.recordAttempt, recordAttemptSQL},
		{&s.recordDelivery, recordDeliverySQL},
		{&s.recordValidation, recordValidationSQL},
		{&s.release, releaseSQL},
	} {
		stmt, err := s.write.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(p.query), " "), err)
		}
		*p.stmt = stmt
	}
	return nil
}

// ClaimDeliveries leases up to c.Limit deliveries due at c.Now to c.Owner
// until c.Now+c.LeaseFor, oldest due first, and loads their webhooks and
// event payloads in the same transaction, one query each. The jobs'
// deliveries show the end of the lease as NextAttemptAt.
func (s *Store) ClaimDeliveries(ctx context.Context, c hookshot.Claim) ([]*hookshot.Job, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	now := columns.Timestamp(c.Now)
	leaseEnd := now.Add(c.LeaseFor)
	var jobs []*hookshot.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.StmtContext(ctx, s.claimSelect).QueryContext(ctx, micros(now), int64List(c.SkipWebhooks), c.Limit)
		if err != nil {
			return fmt.Errorf("selecting due deliveries: %w", err)
		}
		var (
			claimed    []*hookshot.Delivery
			rowids     []int64
			webhookIDs []int64
			eventIDs   []string
			seenHook   = map[int64]bool{}
			seenEvent  = map[string]bool{}
		)
		for rows.Next() {
			var rowid int64
			d, err := scanDelivery(rows, &rowid)
			if err != nil {
				rows.Close()
				return fmt.Errorf("selecting due deliveries: %w", err)
			}
			d.NextAttemptAt = leaseEnd
			claimed = append(claimed, d)
			rowids = append(rowids, rowid)
			if !seenHook[d.WebhookID] {
				seenHook[d.WebhookID] = true
				webhookIDs = append(webhookIDs, d.WebhookID)
			}
			if d.EventID != "" && !seenEvent[d.EventID] {
				seenEvent[d.EventID] = true
				eventIDs = append(eventIDs, d.EventID)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("selecting due deliveries: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		if _, err := tx.StmtContext(ctx, s.claimUpdate).ExecContext(ctx, c.Owner, micros(leaseEnd), int64List(rowids)); err != nil {
			return fmt.Errorf("leasing: %w", err)
		}

		webhooks := make(map[int64]*hookshot.Webhook, len(webhookIDs))
		rows, err = tx.StmtContext(ctx, s.loadWebhooks).QueryContext(ctx, int64List(webhookIDs))
		if err != nil {
			return fmt.Errorf("loading webhooks: %w", err)
		}
		for rows.Next() {
			w, err := scanWebhook(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("loading webhooks: %w", err)
			}
			webhooks[w.ID] = w
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("loading webhooks: %w", err)
		}
		payloads := make(map[string][]byte, len(eventIDs))
		if len(eventIDs) > 0 {
			list, err := json.Marshal(eventIDs)
			if err != nil {
				return fmt.Errorf("loading payloads: %w", err)
			}
			rows, err := tx.StmtContext(ctx, s.loadPayloads).QueryContext(ctx, string(list))
			if err != nil {
				return fmt.Errorf("loading payloads: %w", err)
			}
			for rows.Next() {
				var id string
				var payload []byte
				if err := rows.Scan(&id, &payload); err != nil {
					rows.Close()
					return fmt.Errorf("loading payloads: %w", err)
				}
				payloads[id] = payload
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("loading payloads: %w", err)
			}
		}

		jobs = make([]*hookshot.Job, 0, len(claimed))
		for _, d := range claimed {
			// The foreign key and the write lock held since the select
			// guarantee the webhook; its absence means a corrupt file.
			w := webhooks[d.WebhookID]
			if w == nil {
				return fmt.Errorf("delivery %s: webhook %d is missing", d.ID, d.WebhookID)
			}
			payload := payloads[d.EventID]
			if d.Event == hookshot.EventValidation {
				payload = hookshot.ValidationBody(d.WebhookID, d.ValidationCode)
			}
			jobs = append(jobs, &hookshot.Job{Delivery: d, Webhook: w, Payload: payload})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claiming deliveries for %s: %w", c.Owner, err)
	}
	return jobs, nil
}

// RecordResults stores each result's attempt and moves its delivery on,
// and a validation delivery's webhook, in one transaction (see the
// record*SQL statements for the rules). A delivery's updated_at becomes
// the time its attempt ended; a webhook's Validation.CheckedAt becomes the
// time its validation attempt started, which is when the answer's request
// went out and the only time every attempt has, answered or not.
func (s *Store) RecordResults(ctx context.Context, owner string, results []*hookshot.Result) error {
	if len(results) == 0 {
		return nil
	}
	// Encode outside the transaction, which holds the write lock.
	type encoded struct {
		reqHeaders  string
		respHeaders sql.NullString
		respStatus  sql.NullInt64
		respBody    []byte
	}
	enc := make([]encoded, len(results))
	for i, r := range results {
		a := r.Attempt
		if a == nil {
			return fmt.Errorf("sqlite: recording results for %s: result %d has no attempt", owner, i)
		}
		a.StartedAt = columns.Timestamp(a.StartedAt)
		h, err := columns.Headers(a.Request.Headers)
		if err != nil {
			return fmt.Errorf("sqlite: recording attempt %d of delivery %s: encoding request headers: %w", a.Number, a.DeliveryID, err)
		}
		enc[i].reqHeaders = h
		if resp := a.Response; resp != nil {
			h, err := columns.Headers(resp.Headers)
			if err != nil {
				return fmt.Errorf("sqlite: recording attempt %d of delivery %s: encoding response headers: %w", a.Number, a.DeliveryID, err)
			}
			enc[i].respHeaders = sql.NullString{String: h, Valid: true}
			enc[i].respStatus = sql.NullInt64{Int64: int64(resp.Status), Valid: true}
			enc[i].respBody = resp.Body
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		insert := tx.StmtContext(ctx, s.recordAttempt)
		update := tx.StmtContext(ctx, s.recordDelivery)
		validate := tx.StmtContext(ctx, s.recordValidation)
		for i, r := range results {
			a := r.Attempt
			res, err := insert.ExecContext(ctx, a.DeliveryID, a.Number, micros(a.StartedAt), a.Duration.Microseconds(),
				a.Request.URL, enc[i].reqHeaders, a.Request.Body, enc[i].respStatus, enc[i].respHeaders,
				enc[i].respBody, a.Error)
			if n, err := affected(res, err); err != nil {
				return fmt.Errorf("inserting attempt %d of delivery %s: %w", a.Number, a.DeliveryID, err)
			} else if n == 0 {
				continue // the delivery was deleted with its webhook
			}
			ended := a.StartedAt.Add(a.Duration.Truncate(time.Microsecond))
			res, err = update.ExecContext(ctx, string(r.Status), r.MaxAttempts, micros(columns.Timestamp(r.NextAttemptAt)),
				micros(ended), a.DeliveryID, owner)
			if n, err := affected(res, err); err != nil {
				return fmt.Errorf("updating delivery %s: %w", a.DeliveryID, err)
			} else if n == 0 {
				continue // the lease passed to another owner
			}
			if r.Validation == nil {
				continue
			}
			if _, err := validate.ExecContext(ctx, string(*r.Validation), micros(a.StartedAt), a.DeliveryID); err != nil {
				return fmt.Errorf("updating validation of webhook %d: %w", r.WebhookID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: recording %d results for %s: %w", len(results), owner, err)
	}
	return nil
}

// ReleaseDeliveries hands owner's leases on ids back (see releaseSQL);
// leases of other owners, and deliveries no longer leased, are left alone.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("sqlite: releasing %d deliveries of %s: %w", len(ids), owner, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.release).ExecContext(ctx, micros(time.Now()), string(list), owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: releasing %d deliveries of %s: %w", len(ids), owner, err)
	}
	return nil
}

// affected is how many rows an execution changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// int64List renders ids as a JSON array for json_each; never null, so
// that NOT IN over an empty list excludes nothing.
func int64List(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
