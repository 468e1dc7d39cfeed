package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// The health statements of WriteHealth. Recording runs them for every
// batch, so each applies many webhooks (or hourly counts) at once, as
// many rows of values as it was built for (healthChunk): one statement per
// webhook and hour cost as much again as recording the attempts at a light
// load, where a batch holds an attempt or two per webhook. The values are
// bound, not read from JSON, whose arrays SQLite turns back into text for
// every element. Their parameters are anonymous, ? rather than ?N: the
// driver looks each numbered one up by its name when it binds it, in a
// list as long as the statement's, which grows with the square of the rows.
var (
	// healthUpdateSQL[n] applies n rows of (webhook id, last success,
	// last failure, succeeded, failing since, failures) to the webhooks
	// that still exist, by the rules of sqlstore's writeHealth.
	healthUpdateSQL = healthStatements(6, `
		UPDATE webhooks SET
			last_success_at = coalesce(v.column2, last_success_at),
			last_failure_at = coalesce(v.column3, last_failure_at),
			failing_since = CASE WHEN v.column4 THEN v.column5 ELSE coalesce(failing_since, v.column5) END,
			consecutive_failures = CASE WHEN v.column4 THEN v.column6 ELSE consecutive_failures + v.column6 END
		FROM (VALUES %s) AS v
		WHERE webhooks.id = v.column1
		RETURNING id, study_id, active, failing_since, consecutive_failures`)
	// healthCountSQL[n] adds n rows of (webhook id, hour, attempts,
	// failures) to the hourly counts, answering each row's attempts once
	// added: a total equal to what was added is a row that is new.
	healthCountSQL = healthStatements(4, `
		INSERT INTO webhook_health_hours (webhook_id, hour, attempts, failures)
		SELECT column1, column2, column3, column4 FROM (VALUES %s) WHERE true
		ON CONFLICT (webhook_id, hour) DO UPDATE SET
			attempts = webhook_health_hours.attempts + excluded.attempts,
			failures = webhook_health_hours.failures + excluded.failures
		RETURNING webhook_id, hour, attempts`)
)

const healthForgetSQL = `DELETE FROM webhook_health_hours WHERE webhook_id = ?1 AND hour < ?2`

// healthChunk is the most rows one health statement takes.
const healthChunk = 32

// healthStatements builds query for each power of two of rows up to
// healthChunk, each row of params anonymous parameters.
func healthStatements(params int, query string) map[int]string {
	row := "(" + strings.Repeat("?,", params-1) + "?)"
	m := map[int]string{}
	for n := 1; n <= healthChunk; n *= 2 {
		m[n] = fmt.Sprintf(query, strings.Repeat(row+",", n-1)+row)
	}
	return m
}

// healthChunkSize is how many of n rows the next statement takes: the
// largest power of two up to healthChunk.
func healthChunkSize(n int) int {
	size := healthChunk
	for size > n {
		size /= 2
	}
	return size
}

var _ sqlstore.HealthWriter = (*engine)(nil)

// WriteHealth applies us by the rules of sqlstore's writeHealth, in three
// statements whatever the number of webhooks: their rows, then the hourly
// counts of those that still exist, and, for each webhook whose counts
// began a new hour, the forgetting of hours older than a day.
func (e *engine) WriteHealth(ctx context.Context, tx sqlstore.Querier, us []sqlstore.HealthUpdate) ([]sqlstore.HealthState, error) {
	byID := make(map[int64]*sqlstore.HealthUpdate, len(us))
	var states []sqlstore.HealthState
	for rest := us; len(rest) > 0; {
		chunk := rest[:healthChunkSize(len(rest))]
		rest = rest[len(chunk):]
		args := make([]any, 0, 6*len(chunk))
		for i := range chunk {
			u := &chunk[i]
			byID[u.WebhookID] = u
			args = append(args, u.WebhookID, e.NullTime(u.LastSuccess), e.NullTime(u.LastFailure), u.Succeeded,
				e.NullTime(u.FailingSince), u.Failures)
		}
		rows, err := tx.Query(ctx, healthUpdateSQL[len(chunk)], args...)
		err = sqlstore.EachRow(rows, err, func(r sqlstore.Rows) error {
			var st sqlstore.HealthState
			err := r.Scan(&st.WebhookID, &st.StudyID, &st.Active, e.ScanNullTime(&st.FailingSince), &st.Failures)
			states = append(states, st)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	// Webhooks missing from states were deleted with their deliveries,
	// whose attempts were skipped too; their counts would break the
	// foreign key.
	type hourKey struct{ webhookID, hour int64 }
	added := map[hourKey]int{}
	var counts []any
	for _, st := range states {
		for _, c := range byID[st.WebhookID].Hours {
			h := c.Hour.UnixMicro()
			added[hourKey{st.WebhookID, h}] = c.Attempts
			counts = append(counts, st.WebhookID, h, c.Attempts, c.Failures)
		}
	}
	newHour := map[int64]int64{} // webhook → its latest hour that is new
	for rest := counts; len(rest) > 0; {
		chunk := rest[:4*healthChunkSize(len(rest)/4)]
		rest = rest[len(chunk):]
		rows, err := tx.Query(ctx, healthCountSQL[len(chunk)/4], chunk...)
		err = sqlstore.EachRow(rows, err, func(r sqlstore.Rows) error {
			var k hourKey
			var total int
			if err := r.Scan(&k.webhookID, &k.hour, &total); err != nil {
				return err
			}
			if total == added[k] && k.hour > newHour[k.webhookID] {
				newHour[k.webhookID] = k.hour
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("counting attempts: %w", err)
		}
	}
	// Hours that last24h no longer reads go when a new one begins, so a
	// webhook keeps at most 25 rows of counts however long it lives.
	if len(newHour) > 0 {
		forget := e.stmt(ctx, tx, e.healthForget)
		for id, hour := range newHour {
			if _, err := forget.ExecContext(ctx, id, hour-(24*time.Hour).Microseconds()); err != nil {
				return nil, fmt.Errorf("forgetting old counts: %w", err)
			}
		}
	}
	return states, nil
}
