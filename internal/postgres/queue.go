package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlstore"
)

// claimSQL leases due deliveries in one statement. SKIP LOCKED lets
// concurrent claimers pass over each other's rows instead of queueing on
// them, and moving next_attempt_at to the end of the lease takes a claimed
// row out of the due set without a separate "running" state: if its owner
// dies, the row simply becomes due again. RETURNING sees the new due
// time, so the old one comes back as an extra column, to hand the jobs out
// oldest due first. Deliveries of a disabled webhook are held (SPEC
// §14): they keep their due time, and so their place, for when it is
// enabled again; its validation requests still go out.
// Relays (webhooks of `hookshot listen`) are skipped:
// their CLI claims their deliveries.
var claimSQL = `
	WITH due AS (
		SELECT id, next_attempt_at FROM deliveries
		WHERE status = 'in_progress' AND next_attempt_at <= $3 AND NOT (webhook_id = ANY($4))
			AND (event = 'validation' OR webhook_id NOT IN (SELECT id FROM webhooks WHERE NOT active))
			AND webhook_id NOT IN (SELECT webhook_id FROM relays)
		ORDER BY next_attempt_at
		LIMIT $5
		FOR UPDATE SKIP LOCKED
	)
	UPDATE deliveries d SET lease_owner = $1, next_attempt_at = $2
	FROM due
	WHERE d.id = due.id
	RETURNING ` + sqlstore.Qualified("d", sqlstore.DeliveryColumns) + `, due.next_attempt_at`

// ClaimDue leases due deliveries with claimSQL, under queuePlans. The
// claimed rows stay locked until tx ends, so their webhooks cannot be
// deleted under it (the cascade would wait).
func (e *engine) ClaimDue(ctx context.Context, tx sqlstore.Querier, c hookshot.Claim) ([]*hookshot.Delivery, error) {
	type claimed struct {
		d   *hookshot.Delivery
		due time.Time
	}
	var got []claimed
	args := []any{c.Owner, c.Now.Add(c.LeaseFor), c.Now, e.Int64s(c.SkipWebhooks), c.Limit}
	if err := withQueuePlans(ctx, tx, claimSQL, args, func(rows sqlstore.Rows) error {
		var due time.Time
		d, err := sqlstore.ScanDelivery(e, rows, e.ScanTime(&due))
		if err != nil {
			return err
		}
		got = append(got, claimed{d, due})
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(got, func(i, j int) bool {
		if !got[i].due.Equal(got[j].due) {
			return got[i].due.Before(got[j].due)
		}
		return got[i].d.ID < got[j].d.ID
	})
	ds := make([]*hookshot.Delivery, len(got))
	for i, g := range got {
		ds[i] = g.d
	}
	return ds, nil
}

// InsertDeliveries inserts ds in one statement over arrays. The webhooks
// are locked FOR KEY SHARE first: a webhook deleted by a concurrent
// transaction then drops its deliveries here instead of failing the whole
// insert on the foreign key. A delivery with a LeaseOwner is inserted
// leased to it until LeaseUntil when its webhook is one the engine claims
// for (enabled, not a relay: see claimSQL), and otherwise due, with its
// LeaseOwner cleared.
func (e *engine) InsertDeliveries(ctx context.Context, tx sqlstore.Querier, ds []*hookshot.Delivery) ([]string, error) {
	n := len(ds)
	var (
		ids, events, statuses, traces = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		eventIDs, codes, owners       = make([]*string, n), make([]*string, n), make([]*string, n)
		webhookIDs, studyIDs          = make([]int64, n), make([]int64, n)
		attempts, maxAttempts         = make([]int32, n), make([]int32, n)
		due, created, updated, leases = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	)
	for i, d := range ds {
		ids[i], webhookIDs[i], studyIDs[i] = d.ID, d.WebhookID, d.StudyID
		eventIDs[i], events[i], statuses[i] = nullString(d.EventID), d.Event, string(d.Status)
		attempts[i], maxAttempts[i] = int32(d.Attempts), int32(d.MaxAttempts)
		due[i], codes[i], traces[i] = d.NextAttemptAt, nullString(d.ValidationCode), d.TraceParent
		created[i], updated[i] = d.CreatedAt, d.UpdatedAt
		owners[i], leases[i] = nullString(d.LeaseOwner), d.NextAttemptAt
		if d.LeaseOwner != "" {
			leases[i] = d.LeaseUntil
		}
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, validation_code, trace_parent, created_at, updated_at, lease_owner)
		SELECT r.id, r.webhook_id, r.study_id, r.event_id, r.event, r.status, r.attempts, r.max_attempts,
			CASE WHEN l.leased THEN r.lease_until ELSE r.next_attempt_at END,
			r.validation_code, r.trace_parent, r.created_at, r.updated_at,
			CASE WHEN l.leased THEN r.lease_owner END
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
				$7::int[], $8::int[], $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[],
				$13::timestamptz[], $14::text[], $15::timestamptz[])
			AS r(id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
				next_attempt_at, validation_code, trace_parent, created_at, updated_at, lease_owner, lease_until)
		JOIN (SELECT id, active FROM webhooks WHERE id = ANY($2) FOR KEY SHARE) w ON w.id = r.webhook_id
		CROSS JOIN LATERAL (SELECT r.lease_owner IS NOT NULL AND w.active
			AND NOT EXISTS (SELECT 1 FROM relays WHERE webhook_id = r.webhook_id) AS leased) l
		RETURNING id, lease_owner IS NOT NULL`,
		ids, webhookIDs, studyIDs, eventIDs, events, statuses, attempts, maxAttempts, due, codes, traces,
		created, updated, owners, leases)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	inserted := make([]string, 0, n)
	var unleased map[string]bool
	for rows.Next() {
		var id string
		var leased bool
		if err := rows.Scan(&id, &leased); err != nil {
			return nil, err
		}
		inserted = append(inserted, id)
		if !leased {
			if unleased == nil {
				unleased = make(map[string]bool)
			}
			unleased[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range ds {
		if unleased[d.ID] {
			d.LeaseOwner, d.LeaseUntil = "", time.Time{}
		}
	}
	return inserted, nil
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
//
// Every table is read row by row through its primary key (see
// queuePlans).
const recordSQL = `
	WITH r AS (
		SELECT r.*, d.event_id, (SELECT e.payload FROM events e WHERE e.id = d.event_id) AS payload,
			greatest(r.number, (SELECT coalesce(max(a.number), 0) + 1 FROM attempts a WHERE a.delivery_id = r.delivery_id)) AS stored_number
		FROM unnest($2::text[], $3::int[], $4::timestamptz[], $5::bigint[], $6::text[], $7::text[],
				$8::bytea[], $9::int[], $10::text[], $11::bytea[], $12::text[],
				$13::text[], $14::int[], $15::timestamptz[], $16::text[])
			AS r(delivery_id, number, started_at, duration_us, request_url, request_headers,
				request_body, response_status, response_headers, response_body, error,
				status, max_attempts, next_attempt_at, validation)
		CROSS JOIN LATERAL (SELECT event_id FROM deliveries WHERE id = r.delivery_id FOR KEY SHARE) d
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

// RecordResults stores the results in one statement (see recordSQL),
// under queuePlans.
func (e *engine) RecordResults(ctx context.Context, tx sqlstore.Querier, owner string, results []sqlstore.EncodedResult) error {
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
		ids[i], numbers[i], started[i] = a.DeliveryID, int32(a.Number), a.StartedAt
		durations[i] = a.Duration.Microseconds()
		urls[i], reqHeaders[i], reqBodies[i], errs[i] = a.Request.URL, r.RequestHeaders, a.Request.Body, a.Error
		respStatuses[i], respHeaders[i], respBodies[i] = r.ResponseStatus, r.ResponseHeaders, r.ResponseBody
		statuses[i], maxAttempts[i], due[i] = string(r.Status), int32(r.MaxAttempts), r.NextAttemptAt
		if r.Validation != nil {
			v := string(*r.Validation)
			validations[i] = &v
		}
	}
	args := []any{owner, ids, numbers, started, durations, urls, reqHeaders,
		reqBodies, respStatuses, respHeaders, respBodies, errs, statuses, maxAttempts, due, validations}
	return withQueuePlans(ctx, tx, recordSQL, args, func(sqlstore.Rows) error { return nil })
}

// ReleaseDeliveries hands owner's leases on ids back. A released delivery
// becomes due at the earlier of the database's clock and its updated_at:
// the claimant's own clock is not known here, and updated_at is a time of
// that clock no later than when the delivery first fell due, so whoever
// claims next, with whatever clock skew, finds it due at once.
func (e *engine) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	_, err := e.pool.Exec(ctx, `
		UPDATE deliveries SET lease_owner = NULL, next_attempt_at = least(now(), updated_at)
		WHERE id = ANY($2) AND lease_owner = $1 AND status = 'in_progress'`, owner, ids)
	return err
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
