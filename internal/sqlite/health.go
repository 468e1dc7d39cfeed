package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// The health statements of sqlstore's writeHealth, prepared once on the
// write connection like the queue's (see prepare): recording runs them
// for every webhook of every batch, and through database/sql an
// unprepared statement is parsed and planned each time.
const (
	healthUpdateSQL = `
		UPDATE webhooks SET
			last_success_at = coalesce(?2, last_success_at),
			last_failure_at = coalesce(?3, last_failure_at),
			failing_since = CASE WHEN ?4 THEN ?5 ELSE coalesce(failing_since, ?5) END,
			consecutive_failures = CASE WHEN ?4 THEN ?6 ELSE consecutive_failures + ?6 END
		WHERE id = ?1
		RETURNING study_id, active, failing_since, consecutive_failures`
	healthCountSQL = `
		INSERT INTO webhook_health_hours (webhook_id, hour, attempts, failures) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (webhook_id, hour) DO UPDATE SET
			attempts = webhook_health_hours.attempts + excluded.attempts,
			failures = webhook_health_hours.failures + excluded.failures
		RETURNING attempts`
	healthForgetSQL = `DELETE FROM webhook_health_hours WHERE webhook_id = ?1 AND hour < ?2`
)

var _ sqlstore.HealthWriter = (*engine)(nil)

// WriteHealth applies us with the prepared health statements, by the
// rules of sqlstore's writeHealth: each webhook's row, its hourly counts,
// and, when a new hour began, the forgetting of hours older than a day.
func (e *engine) WriteHealth(ctx context.Context, tx sqlstore.Querier, us []sqlstore.HealthUpdate) ([]sqlstore.HealthState, error) {
	update, count, forget := e.stmt(ctx, tx, e.healthUpdate), e.stmt(ctx, tx, e.healthCount), e.stmt(ctx, tx, e.healthForget)
	var states []sqlstore.HealthState
	for _, u := range us {
		st := sqlstore.HealthState{WebhookID: u.WebhookID}
		err := update.QueryRowContext(ctx, u.WebhookID, e.NullTime(u.LastSuccess), e.NullTime(u.LastFailure), u.Succeeded,
			e.NullTime(u.FailingSince), u.Failures).
			Scan(&st.StudyID, &st.Active, e.ScanNullTime(&st.FailingSince), &st.Failures)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted with its deliveries; their attempts were skipped too
		}
		if err != nil {
			return nil, err
		}
		states = append(states, st)
		var newHour time.Time
		for _, c := range u.Hours {
			var total int
			if err := count.QueryRowContext(ctx, u.WebhookID, c.Hour.UnixMicro(), c.Attempts, c.Failures).Scan(&total); err != nil {
				return nil, err
			}
			if total == c.Attempts {
				newHour = c.Hour
			}
		}
		if !newHour.IsZero() {
			if _, err := forget.ExecContext(ctx, u.WebhookID, newHour.Add(-24*time.Hour).UnixMicro()); err != nil {
				return nil, err
			}
		}
	}
	return states, nil
}
