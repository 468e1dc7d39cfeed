package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

// claimSQL leases due deliveries in one statement. SKIP LOCKED lets
// concurrent claimers pass over each other's rows instead of queueing on
// them, and moving next_attempt_at to the end of the lease takes a claimed
// row out of the due set without a separate "running" state: if its owner
// dies, the row simply becomes due again. RETURNING sees the new due
// time, so the old one comes back as an extra column, to hand the jobs out
// oldest due first.
const claimSQL = `
	WITH due AS (
		SELECT id, next_attempt_at FROM deliveries
		WHERE status = 'in_progress' AND next_attempt_at <= $3 AND NOT (webhook_id = ANY($4))
		ORDER BY next_attempt_at
		LIMIT $5
		FOR UPDATE SKIP LOCKED
	)
	UPDATE deliveries d SET lease_owner = $1, next_attempt_at = $2
	FROM due
	WHERE d.id = due.id
	RETURNING ` + qualifiedDeliveryColumns + `, due.next_attempt_at`

const qualifiedDeliveryColumns = `d.id, d.webhook_id, d.study_id, d.event_id, d.event, d.status, d.attempts,
	d.max_attempts, d.next_attempt_at, d.validation_code, d.trace_parent, d.created_at, d.updated_at`

// ClaimDeliveries leases up to c.Limit deliveries due at c.Now to c.Owner
// until c.Now+c.LeaseFor, oldest due first, and loads their webhooks and
// event payloads in the same transaction. Times are the caller's clock,
// never the database's.
func (s *Store) ClaimDeliveries(ctx context.Context, c hookshot.Claim) ([]*hookshot.Job, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	now := columns.Timestamp(c.Now)
	skip := c.SkipWebhooks
	if skip == nil {
		skip = []int64{} // NULL would make the NOT ... = ANY test NULL, filtering every row
	}
	var jobs []*hookshot.Job
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, claimSQL, c.Owner, now.Add(c.LeaseFor), now, skip, c.Limit)
		if err != nil {
			return fmt.Errorf("claiming: %w", err)
		}
		type claimed struct {
			d   *hookshot.Delivery
			due time.Time
		}
		var got []claimed
		for rows.Next() {
			var due time.Time
			d, err := scanDelivery(rows, &due)
			if err != nil {
				rows.Close()
				return fmt.Errorf("claiming: %w", err)
			}
			got = append(got, claimed{d, due})
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claiming: %w", err)
		}
		if len(got) == 0 {
			return nil
		}
		sort.Slice(got, func(i, j int) bool {
			if !got[i].due.Equal(got[j].due) {
				return got[i].due.Before(got[j].due)
			}
			return got[i].d.ID < got[j].d.ID
		})

		// One query each for the webhooks and the payloads, sent together:
		// a batch of 256 jobs typically spans few webhooks and events.
		var webhookIDs []int64
		var eventIDs []string
		seenWebhook := map[int64]bool{}
		seenEvent := map[string]bool{}
		for _, g := range got {
			if !seenWebhook[g.d.WebhookID] {
				seenWebhook[g.d.WebhookID] = true
				webhookIDs = append(webhookIDs, g.d.WebhookID)
			}
			if g.d.EventID != "" && !seenEvent[g.d.EventID] {
				seenEvent[g.d.EventID] = true
				eventIDs = append(eventIDs, g.d.EventID)
			}
		}
		batch := &pgx.Batch{}
		batch.Queue(`SELECT `+webhookColumns+` FROM webhooks WHERE id = ANY($1)`, webhookIDs)
		if len(eventIDs) > 0 {
			batch.Queue(`SELECT id, payload FROM events WHERE id = ANY($1)`, eventIDs)
		}
		br := tx.SendBatch(ctx, batch)
		defer br.Close()

		webhooks := make(map[int64]*hookshot.Webhook, len(webhookIDs))
		rows, err = br.Query()
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
			rows, err = br.Query()
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

		jobs = make([]*hookshot.Job, 0, len(got))
		for _, g := range got {
			// The claimed rows are locked, so their webhooks cannot be
			// deleted under this transaction (the cascade would wait).
			w := webhooks[g.d.WebhookID]
			if w == nil {
				return fmt.Errorf("delivery %s: webhook %d vanished while claimed", g.d.ID, g.d.WebhookID)
			}
			payload := payloads[g.d.EventID]
			if g.d.Event == hookshot.EventValidation {
				payload = hookshot.ValidationBody(g.d.WebhookID, g.d.ValidationCode)
			}
			jobs = append(jobs, &hookshot.Job{Delivery: g.d, Webhook: w, Payload: payload})
		}
		return br.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claiming deliveries for %s: %w", c.Owner, err)
	}
	return jobs, nil
}

// recordSQL stores a batch of results in one statement over arrays, so a
// batch costs one round trip whatever its size:
//
//   - every result's attempt is inserted, unless its delivery is gone. The
//     number is moved past any attempt already stored under it: after a
//     lease ran out, the old and the new owner may both have made attempt
//     n, and both really reached the receiver. The request body is left
//     NULL when it is the event's payload, which reads fill back in, so
//     a payload is not stored again for each attempt;
//   - the delivery moves on only while owner still holds its lease;
//   - a validation outcome updates the webhook only while that delivery is
//     still the webhook's current validation delivery.
const recordSQL = `
	WITH r AS (
		SELECT r.*, d.event_id, e.payload,
			greatest(r.number, (SELECT coalesce(max(a.number), 0) + 1 FROM attempts a WHERE a.delivery_id = r.delivery_id)) AS stored_number
		FROM unnest($2::text[], $3::int[], $4::timestamptz[], $5::bigint[], $6::text[], $7::text[],
				$8::bytea[], $9::int[], $10::text[], $11::bytea[], $12::text[],
				$13::text[], $14::int[], $15::timestamptz[], $16::text[])
			AS r(delivery_id, number, started_at, duration_us, request_url, request_headers,
				request_body, response_status, response_headers, response_body, error,
				status, max_attempts, next_attempt_at, validation)
		JOIN (SELECT id, event_id FROM deliveries WHERE id = ANY($2) FOR KEY SHARE) d ON d.id = r.delivery_id
		LEFT JOIN events e ON e.id = d.event_id
	),
	ins AS (
		INSERT INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
			request_body, response_status, response_headers, response_body, error)
		SELECT delivery_id, stored_number, started_at, duration_us, request_url, request_headers::jsonb,
			CASE
				WHEN event_id IS NULL THEN request_body
				WHEN request_body = payload THEN NULL
				ELSE coalesce(request_body, ''::bytea)
			END,
			response_status, response_headers::jsonb, response_body, error
		FROM r
		ON CONFLICT DO NOTHING
	),
	upd AS (
		UPDATE deliveries d
		SET status = r.status, attempts = greatest(d.attempts + 1, r.stored_number), max_attempts = r.max_attempts,
			next_attempt_at = r.next_attempt_at, lease_owner = NULL,
			updated_at = r.started_at + r.duration_us * interval '1 microsecond'
		FROM r
		WHERE d.id = r.delivery_id AND d.lease_owner = $1
		RETURNING d.id, d.webhook_id, r.validation, r.started_at
	)
	UPDATE webhooks w
	SET validation_status = upd.validation, validation_checked_at = upd.started_at
	FROM upd
	WHERE upd.validation IS NOT NULL AND w.id = upd.webhook_id AND w.validation_delivery_id = upd.id`

// RecordResults stores each result's attempt and moves its delivery on,
// and a validation delivery's webhook, in one statement (see recordSQL).
// A delivery's updated_at becomes the time its attempt ended; a webhook's
// Validation.CheckedAt becomes the time its validation attempt started,
// which is when the answer's request went out and the only time every
// attempt has, answered or not.
func (s *Store) RecordResults(ctx context.Context, owner string, results []*hookshot.Result) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	var (
		ids, urls, reqHeaders, errs, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		numbers, maxAttempts                  = make([]int32, n), make([]int32, n)
		started, due                          = make([]time.Time, n), make([]time.Time, n)
		durations                             = make([]int64, n)
		reqBodies, respBodies                 = make([][]byte, n), make([][]byte, n)
		respStatuses                          = make([]*int32, n)
		respHeaders, validations              = make([]*string, n), make([]*string, n)
	)
	for i, r := range results {
		a := r.Attempt
		if a == nil {
			return fmt.Errorf("postgres: recording results for %s: result %d has no attempt", owner, i)
		}
		a.StartedAt = columns.Timestamp(a.StartedAt)
		ids[i], numbers[i], started[i] = a.DeliveryID, int32(a.Number), a.StartedAt
		durations[i] = a.Duration.Microseconds()
		urls[i], reqBodies[i], errs[i] = a.Request.URL, a.Request.Body, a.Error
		h, err := columns.Headers(a.Request.Headers)
		if err != nil {
			return fmt.Errorf("postgres: recording attempt %d of delivery %s: encoding request headers: %w", a.Number, a.DeliveryID, err)
		}
		reqHeaders[i] = h
		if resp := a.Response; resp != nil {
			status := int32(resp.Status)
			respStatuses[i] = &status
			h, err := columns.Headers(resp.Headers)
			if err != nil {
				return fmt.Errorf("postgres: recording attempt %d of delivery %s: encoding response headers: %w", a.Number, a.DeliveryID, err)
			}
			respHeaders[i] = &h
			respBodies[i] = resp.Body
		}
		statuses[i], maxAttempts[i], due[i] = string(r.Status), int32(r.MaxAttempts), columns.Timestamp(r.NextAttemptAt)
		if r.Validation != nil {
			v := string(*r.Validation)
			validations[i] = &v
		}
	}
	_, err := s.pool.Exec(ctx, recordSQL, owner, ids, numbers, started, durations, urls, reqHeaders,
		reqBodies, respStatuses, respHeaders, respBodies, errs, statuses, maxAttempts, due, validations)
	if err != nil {
		return fmt.Errorf("postgres: recording %d results for %s: %w", n, owner, err)
	}
	return nil
}

// ReleaseDeliveries hands owner's leases on ids back. A released delivery
// becomes due at the earlier of the database's clock and its updated_at:
// the claimant's own clock is not known here, and updated_at is a time of
// that clock no later than when the delivery first fell due, so whoever
// claims next, with whatever clock skew, finds it due at once.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE deliveries SET lease_owner = NULL, next_attempt_at = least(now(), updated_at)
		WHERE id = ANY($2) AND lease_owner = $1 AND status = 'in_progress'`, owner, ids)
	if err != nil {
		return fmt.Errorf("postgres: releasing %d deliveries of %s: %w", len(ids), owner, err)
	}
	return nil
}
