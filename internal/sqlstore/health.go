package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hookshot/hookshot"
)

// webhookHealth is what one batch of results says about one webhook, in
// the order the results were recorded.
type webhookHealth struct {
	webhookID    int64
	lastSuccess  *time.Time
	lastFailure  *time.Time
	succeeded    bool       // the batch holds a success
	failures     int        // failures after the batch's last success, or all of them
	failingSince *time.Time // the first of those failures
	gone         bool
	disableAfter time.Duration
	at           time.Time // the latest attempt: "now" for the disable rule
	hours        map[time.Time]*hookshot.AttemptCounts
	last         *hookshot.Result
}

// recordHealth brings the health of the results' webhooks up to date in
// tx, the recording's transaction, and disables those that the results
// say must be (Result.Gone, Result.DisableAfter), with an audit entry by
// the system each. It writes each webhook's row once per batch, reading
// nothing but what the update returns, and adds to its hourly counts. It
// returns the results it set Disabled on.
func (s *Store) recordHealth(ctx context.Context, tx Querier, results []*hookshot.Result) ([]*hookshot.Result, error) {
	byWebhook := map[int64]*webhookHealth{}
	for _, r := range results {
		if r.WebhookID == 0 || r.Event == hookshot.EventValidation {
			continue
		}
		h := byWebhook[r.WebhookID]
		if h == nil {
			h = &webhookHealth{webhookID: r.WebhookID, hours: map[time.Time]*hookshot.AttemptCounts{}}
			byWebhook[r.WebhookID] = h
		}
		t := r.Attempt.StartedAt
		h.last = r
		if t.After(h.at) {
			h.at = t
		}
		h.disableAfter = max(h.disableAfter, r.DisableAfter)
		hour := t.Truncate(time.Hour)
		counts := h.hours[hour]
		if counts == nil {
			counts = &hookshot.AttemptCounts{}
			h.hours[hour] = counts
		}
		counts.Attempts++
		if r.Status == hookshot.DeliverySucceeded {
			h.lastSuccess, h.succeeded, h.failures, h.failingSince = &t, true, 0, nil
			continue
		}
		counts.Failures++
		h.lastFailure = &t
		h.failures++
		if h.failingSince == nil {
			h.failingSince = &t
		}
		h.gone = h.gone || r.Gone
	}
	ids := make([]int64, 0, len(byWebhook))
	for id := range byWebhook {
		ids = append(ids, id)
	}
	// Rows are locked in one order by every recorder, so that two
	// processes recording for the same webhooks cannot deadlock.
	slices.Sort(ids)
	updates := make([]HealthUpdate, len(ids))
	for i, id := range ids {
		h := byWebhook[id]
		u := HealthUpdate{WebhookID: id, LastSuccess: h.lastSuccess, LastFailure: h.lastFailure,
			Succeeded: h.succeeded, FailingSince: h.failingSince, Failures: h.failures}
		for hour, c := range h.hours {
			u.Hours = append(u.Hours, HourCount{Hour: hour, Attempts: c.Attempts, Failures: c.Failures})
		}
		slices.SortFunc(u.Hours, func(a, b HourCount) int { return a.Hour.Compare(b.Hour) })
		updates[i] = u
	}
	var states []HealthState
	var err error
	if w, ok := s.e.Engine.(HealthWriter); ok {
		states, err = w.WriteHealth(ctx, tx, updates)
	} else {
		states, err = s.writeHealth(ctx, tx, updates)
	}
	if err != nil {
		return nil, fmt.Errorf("updating health: %w", err)
	}
	var disabled []*hookshot.Result
	for _, st := range states {
		h := byWebhook[st.WebhookID]
		if h == nil {
			continue
		}
		d, err := s.disableIfDue(ctx, tx, h, st)
		if err != nil {
			return disabled, fmt.Errorf("disabling webhook %d: %w", st.WebhookID, err)
		}
		if d != nil {
			h.last.Disabled = d
			disabled = append(disabled, h.last)
		}
	}
	return disabled, nil
}

// HealthUpdate is what one batch of results says about one webhook's
// health, for an engine's HealthWriter.
type HealthUpdate struct {
	WebhookID   int64
	LastSuccess *time.Time // the batch's last success, nil for none
	LastFailure *time.Time
	// Succeeded: the batch holds a success, after which Failures failed,
	// the first at FailingSince; otherwise all Failures of the batch
	// failed and FailingSince is the first.
	Succeeded    bool
	FailingSince *time.Time
	Failures     int
	Hours        []HourCount // oldest first
}

// HourCount is a batch's attempts in one clock hour.
type HourCount struct {
	Hour               time.Time
	Attempts, Failures int
}

// HealthState is a webhook's state once a HealthUpdate is applied.
type HealthState struct {
	WebhookID    int64
	StudyID      int64
	Active       bool
	FailingSince *time.Time
	Failures     int
}

// HealthWriter is implemented by an engine that applies a batch's
// health updates in fewer statements than one per webhook and hour
// (PostgreSQL, where each is a round trip). WriteHealth applies us in tx
// as writeHealth does, and returns the states of the webhooks that still
// exist, in any order.
type HealthWriter interface {
	WriteHealth(ctx context.Context, tx Querier, us []HealthUpdate) ([]HealthState, error)
}

// writeHealth applies each update to its webhook's row and hourly counts,
// a few statements per webhook, and returns the states of the webhooks
// that still exist.
func (s *Store) writeHealth(ctx context.Context, tx Querier, us []HealthUpdate) ([]HealthState, error) {
	var states []HealthState
	for _, u := range us {
		st := HealthState{WebhookID: u.WebhookID}
		err := tx.QueryRow(ctx, `
			UPDATE webhooks SET
				last_success_at = coalesce($2, last_success_at),
				last_failure_at = coalesce($3, last_failure_at),
				failing_since = CASE WHEN $4 THEN $5 ELSE coalesce(failing_since, $5) END,
				consecutive_failures = CASE WHEN $4 THEN $6 ELSE consecutive_failures + $6 END
			WHERE id = $1
			RETURNING study_id, active, failing_since, consecutive_failures`,
			u.WebhookID, s.e.NullTime(u.LastSuccess), s.e.NullTime(u.LastFailure), u.Succeeded,
			s.e.NullTime(u.FailingSince), u.Failures,
		).Scan(&st.StudyID, &st.Active, s.e.ScanNullTime(&st.FailingSince), &st.Failures)
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
			if err := tx.QueryRow(ctx, `
				INSERT INTO webhook_health_hours (webhook_id, hour, attempts, failures) VALUES ($1, $2, $3, $4)
				ON CONFLICT (webhook_id, hour) DO UPDATE SET
					attempts = webhook_health_hours.attempts + excluded.attempts,
					failures = webhook_health_hours.failures + excluded.failures
				RETURNING attempts`,
				u.WebhookID, s.e.Time(c.Hour), c.Attempts, c.Failures).Scan(&total); err != nil {
				return nil, fmt.Errorf("counting attempts: %w", err)
			}
			if total == c.Attempts {
				newHour = c.Hour // the row is new: this webhook's first attempt in the hour
			}
		}
		// Hours that last24h no longer reads go when a new one begins, so a
		// webhook keeps at most 25 rows of counts however long it lives, at
		// the cost of one statement per webhook and hour.
		if !newHour.IsZero() {
			if _, err := tx.Exec(ctx, `DELETE FROM webhook_health_hours WHERE webhook_id = $1 AND hour < $2`,
				u.WebhookID, s.e.Time(newHour.Add(-24*time.Hour))); err != nil {
				return nil, fmt.Errorf("forgetting old counts: %w", err)
			}
		}
	}
	return states, nil
}

// disableIfDue disables the webhook when h calls for it (Gone, or every
// attempt failed for DisableAfter with enough of them), with an audit
// entry by the system, and returns what it disabled.
func (s *Store) disableIfDue(ctx context.Context, tx Querier, h *webhookHealth, st HealthState) (*hookshot.DisabledWebhook, error) {
	if !st.Active {
		return nil, nil
	}
	var reason hookshot.DisabledReason
	var detail string
	switch {
	case h.gone:
		reason = hookshot.DisabledReason{Code: hookshot.DisabledGone, Since: h.at}
		detail = "the receiver answered 410 Gone"
	case h.disableAfter > 0 && st.FailingSince != nil && st.Failures >= hookshot.MinFailuresToDisable &&
		!st.FailingSince.After(h.at.Add(-h.disableAfter)):
		reason = hookshot.DisabledReason{Code: hookshot.DisabledFailing, Since: h.at}
		detail = fmt.Sprintf("every attempt failed since %s: %d in a row", st.FailingSince.Format(time.RFC3339), st.Failures)
	default:
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `
		UPDATE webhooks SET active = $2, disabled_reason = $3, disabled_since = $4, updated_at = $4
		WHERE id = $1`, st.WebhookID, false, reason.Code, s.e.Time(reason.Since)); err != nil {
		return nil, err
	}
	e := &hookshot.AuditEntry{At: reason.Since, Actor: hookshot.AuditActorSystem, Action: hookshot.AuditDisabled,
		StudyID: st.StudyID, Target: fmt.Sprintf("webhook %d", st.WebhookID), Detail: reason.Code + ": " + detail}
	if _, err := s.insertAudit(ctx, tx, e, 0); err != nil {
		return nil, err
	}
	return &hookshot.DisabledWebhook{WebhookID: st.WebhookID, StudyID: st.StudyID, Reason: reason}, nil
}
