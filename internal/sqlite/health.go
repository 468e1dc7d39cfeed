package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// The health statements of WriteHealth, prepared once on the write
// connection like the queue's (see prepare). Recording runs them for every
// batch, so each takes the batch's webhooks (or their hourly counts) as one
// JSON array and applies them all in one execution: one statement per
// webhook and hour cost as much again as recording the attempts at a light
// load, where a batch holds an attempt or two per webhook.
const (
	// healthUpdateSQL applies ?1, an array of [webhook id, last success,
	// last failure, succeeded (0 or 1), failing since, failures] (times in
	// unix microseconds or null), to the webhooks that still exist, by the
	// rules of sqlstore's writeHealth.
	healthUpdateSQL = `
		UPDATE webhooks SET
			last_success_at = coalesce(u.value->>1, last_success_at),
			last_failure_at = coalesce(u.value->>2, last_failure_at),
			failing_since = CASE WHEN u.value->>3 THEN u.value->>4 ELSE coalesce(failing_since, u.value->>4) END,
			consecutive_failures = CASE WHEN u.value->>3 THEN u.value->>5 ELSE consecutive_failures + (u.value->>5) END
		FROM json_each(?1) AS u
		WHERE webhooks.id = u.value->>0
		RETURNING id, study_id, active, failing_since, consecutive_failures`
	// healthCountSQL adds ?1, an array of [webhook id, hour, attempts,
	// failures], to the hourly counts, answering each row's attempts once
	// added: a total equal to what was added is a row that is new.
	healthCountSQL = `
		INSERT INTO webhook_health_hours (webhook_id, hour, attempts, failures)
		SELECT c.value->>0, c.value->>1, c.value->>2, c.value->>3 FROM json_each(?1) AS c WHERE true
		ON CONFLICT (webhook_id, hour) DO UPDATE SET
			attempts = webhook_health_hours.attempts + excluded.attempts,
			failures = webhook_health_hours.failures + excluded.failures
		RETURNING webhook_id, hour, attempts`
	healthForgetSQL = `DELETE FROM webhook_health_hours WHERE webhook_id = ?1 AND hour < ?2`
)

var _ sqlstore.HealthWriter = (*engine)(nil)

// WriteHealth applies us by the rules of sqlstore's writeHealth, in three
// statements whatever the number of webhooks: their rows, then the hourly
// counts of those that still exist, and, for each webhook whose counts
// began a new hour, the forgetting of hours older than a day.
func (e *engine) WriteHealth(ctx context.Context, tx sqlstore.Querier, us []sqlstore.HealthUpdate) ([]sqlstore.HealthState, error) {
	if len(us) == 0 {
		return nil, nil
	}
	byID := make(map[int64]*sqlstore.HealthUpdate, len(us))
	b := make([]byte, 0, 64*len(us))
	b = append(b, '[')
	for i := range us {
		u := &us[i]
		byID[u.WebhookID] = u
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, u.WebhookID, 10)
		b = appendMicros(append(b, ','), u.LastSuccess)
		b = appendMicros(append(b, ','), u.LastFailure)
		if u.Succeeded {
			b = append(b, ",1,"...)
		} else {
			b = append(b, ",0,"...)
		}
		b = appendMicros(b, u.FailingSince)
		b = append(strconv.AppendInt(append(b, ','), int64(u.Failures), 10), ']')
	}
	b = append(b, ']')
	rows, err := e.stmt(ctx, tx, e.healthUpdate).QueryContext(ctx, string(b))
	if err != nil {
		return nil, err
	}
	var states []sqlstore.HealthState
	for rows.Next() {
		var st sqlstore.HealthState
		if err := rows.Scan(&st.WebhookID, &st.StudyID, &st.Active, e.ScanNullTime(&st.FailingSince), &st.Failures); err != nil {
			rows.Close()
			return nil, err
		}
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Webhooks missing from states were deleted with their deliveries,
	// whose attempts were skipped too; their counts would break the
	// foreign key.
	type hourKey struct{ webhookID, hour int64 }
	added := map[hourKey]int{}
	b = append(b[:0], '[')
	for _, st := range states {
		for _, c := range byID[st.WebhookID].Hours {
			h := c.Hour.UnixMicro()
			added[hourKey{st.WebhookID, h}] = c.Attempts
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, st.WebhookID, 10)
			b = strconv.AppendInt(append(b, ','), h, 10)
			b = strconv.AppendInt(append(b, ','), int64(c.Attempts), 10)
			b = strconv.AppendInt(append(b, ','), int64(c.Failures), 10)
			b = append(b, ']')
		}
	}
	if len(added) == 0 {
		return states, nil
	}
	b = append(b, ']')
	rows, err = e.stmt(ctx, tx, e.healthCount).QueryContext(ctx, string(b))
	if err != nil {
		return nil, fmt.Errorf("counting attempts: %w", err)
	}
	newHour := map[int64]int64{} // webhook → its latest hour that is new
	for rows.Next() {
		var k hourKey
		var total int
		if err := rows.Scan(&k.webhookID, &k.hour, &total); err != nil {
			rows.Close()
			return nil, fmt.Errorf("counting attempts: %w", err)
		}
		if total == added[k] && k.hour > newHour[k.webhookID] {
			newHour[k.webhookID] = k.hour
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting attempts: %w", err)
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

// appendMicros appends t as JSON: its unix microseconds, or null.
func appendMicros(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, t.UnixMicro(), 10)
}
