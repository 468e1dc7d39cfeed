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
	var disabled []*hookshot.Result
	for _, id := range ids {
		h := byWebhook[id]
		d, err := s.updateHealth(ctx, tx, h)
		if err != nil {
			return disabled, fmt.Errorf("updating health of webhook %d: %w", id, err)
		}
		if d != nil {
			h.last.Disabled = d
			disabled = append(disabled, h.last)
		}
	}
	return disabled, nil
}

// updateHealth applies h to its webhook's row and hourly counts, and
// disables the webhook when h calls for it, returning what it disabled.
func (s *Store) updateHealth(ctx context.Context, tx Querier, h *webhookHealth) (*hookshot.DisabledWebhook, error) {
	var (
		studyID      int64
		active       bool
		failingSince *time.Time
		failures     int
	)
	err := tx.QueryRow(ctx, `
		UPDATE webhooks SET
			last_success_at = coalesce($2, last_success_at),
			last_failure_at = coalesce($3, last_failure_at),
			failing_since = CASE WHEN $4 THEN $5 ELSE coalesce(failing_since, $5) END,
			consecutive_failures = CASE WHEN $4 THEN $6 ELSE consecutive_failures + $6 END
		WHERE id = $1
		RETURNING study_id, active, failing_since, consecutive_failures`,
		h.webhookID, s.e.NullTime(h.lastSuccess), s.e.NullTime(h.lastFailure), h.succeeded,
		s.e.NullTime(h.failingSince), h.failures,
	).Scan(&studyID, &active, s.e.ScanNullTime(&failingSince), &failures)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // deleted with its deliveries; their attempts were skipped too
	}
	if err != nil {
		return nil, err
	}
	hours := make([]time.Time, 0, len(h.hours))
	for hour := range h.hours {
		hours = append(hours, hour)
	}
	slices.SortFunc(hours, time.Time.Compare)
	newHour := time.Time{}
	for _, hour := range hours {
		c := h.hours[hour]
		var total int
		if err := tx.QueryRow(ctx, `
			INSERT INTO webhook_health_hours (webhook_id, hour, attempts, failures) VALUES ($1, $2, $3, $4)
			ON CONFLICT (webhook_id, hour) DO UPDATE SET
				attempts = webhook_health_hours.attempts + excluded.attempts,
				failures = webhook_health_hours.failures + excluded.failures
			RETURNING attempts`,
			h.webhookID, s.e.Time(hour), c.Attempts, c.Failures).Scan(&total); err != nil {
			return nil, fmt.Errorf("counting attempts: %w", err)
		}
		if total == c.Attempts {
			newHour = hour // the row is new: this webhook's first attempt in the hour
		}
	}
	// Hours that last24h no longer reads go when a new one begins, so a
	// webhook keeps at most 25 rows of counts however long it lives, at
	// the cost of one statement per webhook and hour.
	if !newHour.IsZero() {
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_health_hours WHERE webhook_id = $1 AND hour < $2`,
			h.webhookID, s.e.Time(newHour.Add(-24*time.Hour))); err != nil {
			return nil, fmt.Errorf("forgetting old counts: %w", err)
		}
	}

	if !active {
		return nil, nil
	}
	var reason hookshot.DisabledReason
	var detail string
	switch {
	case h.gone:
		reason = hookshot.DisabledReason{Code: hookshot.DisabledGone, Since: h.at}
		detail = "the receiver answered 410 Gone"
	case h.disableAfter > 0 && failingSince != nil && failures >= hookshot.MinFailuresToDisable &&
		!failingSince.After(h.at.Add(-h.disableAfter)):
		reason = hookshot.DisabledReason{Code: hookshot.DisabledFailing, Since: h.at}
		detail = fmt.Sprintf("every attempt failed since %s: %d in a row", failingSince.Format(time.RFC3339), failures)
	default:
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `
		UPDATE webhooks SET active = $2, disabled_reason = $3, disabled_since = $4, updated_at = $4
		WHERE id = $1`, h.webhookID, false, reason.Code, s.e.Time(reason.Since)); err != nil {
		return nil, fmt.Errorf("disabling: %w", err)
	}
	e := &hookshot.AuditEntry{At: reason.Since, Actor: hookshot.AuditActorSystem, Action: hookshot.AuditDisabled,
		StudyID: studyID, Target: fmt.Sprintf("webhook %d", h.webhookID), Detail: reason.Code + ": " + detail}
	if _, err := s.insertAudit(ctx, tx, e, 0); err != nil {
		return nil, err
	}
	return &hookshot.DisabledWebhook{WebhookID: h.webhookID, StudyID: studyID, Reason: reason}, nil
}
