package postgres

import (
	"context"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// writeHealthSQL applies a batch's health updates in one statement over
// arrays, so that keeping health costs one round trip per batch whatever
// the number of webhooks (sqlstore.HealthWriter):
//
//   - the webhooks are locked in id order, the order every recorder
//     takes, so that two processes cannot deadlock;
//   - each row's counters move on as sqlstore's writeHealth moves them;
//   - the hourly counts of webhooks that still exist are added to, and
//     the hours older than 24 hours before each webhook's newest are
//     forgotten (a range of the primary key, usually empty).
const writeHealthSQL = `
	WITH h AS (
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::boolean[], $5::timestamptz[],
				$6::int[], $7::timestamptz[])
			AS h(webhook_id, last_success, last_failure, succeeded, failing_since, failures, forget_before)
	),
	locked AS (
		SELECT id FROM webhooks WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE
	),
	upd AS (
		UPDATE webhooks w SET
			last_success_at = coalesce(h.last_success, w.last_success_at),
			last_failure_at = coalesce(h.last_failure, w.last_failure_at),
			failing_since = CASE WHEN h.succeeded THEN h.failing_since ELSE coalesce(w.failing_since, h.failing_since) END,
			consecutive_failures = CASE WHEN h.succeeded THEN h.failures ELSE w.consecutive_failures + h.failures END
		FROM h JOIN locked ON locked.id = h.webhook_id
		WHERE w.id = h.webhook_id
		RETURNING w.id, w.study_id, w.active, w.failing_since, w.consecutive_failures
	),
	counted AS (
		INSERT INTO webhook_health_hours AS c (webhook_id, hour, attempts, failures)
		SELECT n.webhook_id, n.hour, n.attempts, n.failures
		FROM unnest($8::bigint[], $9::timestamptz[], $10::int[], $11::int[]) AS n(webhook_id, hour, attempts, failures)
		WHERE n.webhook_id IN (SELECT id FROM upd)
		ON CONFLICT (webhook_id, hour) DO UPDATE SET
			attempts = c.attempts + excluded.attempts, failures = c.failures + excluded.failures
	),
	forgotten AS (
		DELETE FROM webhook_health_hours o USING h
		WHERE o.webhook_id = h.webhook_id AND o.hour < h.forget_before AND h.webhook_id IN (SELECT id FROM upd)
	)
	SELECT id, study_id, active, failing_since, consecutive_failures FROM upd`

var _ sqlstore.HealthWriter = (*engine)(nil)

// WriteHealth runs writeHealthSQL.
func (e *engine) WriteHealth(ctx context.Context, tx sqlstore.Querier, us []sqlstore.HealthUpdate) ([]sqlstore.HealthState, error) {
	n := len(us)
	var (
		ids                                  = make([]int64, n)
		lastSuccess, lastFailure, failingSin = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		succeeded                            = make([]bool, n)
		failures                             = make([]int32, n)
		forget                               = make([]time.Time, n)
		hourIDs                              []int64
		hours                                []time.Time
		hourAttempts, hourFailures           []int32
	)
	for i, u := range us {
		ids[i], lastSuccess[i], lastFailure[i], failingSin[i] = u.WebhookID, u.LastSuccess, u.LastFailure, u.FailingSince
		succeeded[i], failures[i] = u.Succeeded, int32(u.Failures)
		for _, c := range u.Hours {
			hourIDs = append(hourIDs, u.WebhookID)
			hours = append(hours, c.Hour)
			hourAttempts = append(hourAttempts, int32(c.Attempts))
			hourFailures = append(hourFailures, int32(c.Failures))
			forget[i] = c.Hour.Add(-24 * time.Hour) // the newest hour comes last
		}
	}
	rows, err := tx.Query(ctx, writeHealthSQL, ids, lastSuccess, lastFailure, succeeded, failingSin, failures, forget,
		hourIDs, hours, hourAttempts, hourFailures)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var states []sqlstore.HealthState
	for rows.Next() {
		var st sqlstore.HealthState
		if err := rows.Scan(&st.WebhookID, &st.StudyID, &st.Active, e.ScanNullTime(&st.FailingSince), &st.Failures); err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	return states, rows.Err()
}
