package sqlstore

import (
	"context"
	"time"

	"github.com/hookshot/hookshot"
)

// Backlog implements hookshot.BacklogReader with one read over the
// deliveries_due index: claimed deliveries have their due time moved to
// the end of their lease, so they count as in progress but not as due;
// so do the deliveries held for a disabled webhook, which no claim takes
// until it is enabled (SPEC §14), so that an alert on the age of the
// oldest due delivery does not fire for a webhook someone disabled.
func (s *Store) Backlog(ctx context.Context, now time.Time) (hookshot.Backlog, error) {
	var (
		b      hookshot.Backlog
		oldest *time.Time
	)
	at := s.e.Time(Timestamp(now))
	err := s.e.Reader().QueryRow(ctx, `
		SELECT count(*),
			count(CASE WHEN next_attempt_at <= $1 AND NOT held THEN 1 END),
			min(CASE WHEN next_attempt_at <= $1 AND NOT held THEN next_attempt_at END)
		FROM (
			SELECT next_attempt_at,
				event <> 'validation' AND webhook_id IN (SELECT id FROM webhooks WHERE NOT active) AS held
			FROM deliveries WHERE status = 'in_progress'
		) d`, at).
		Scan(&b.InProgress, &b.Due, s.e.ScanNullTime(&oldest))
	if err != nil {
		return hookshot.Backlog{}, s.fail(err, "reading the backlog")
	}
	if oldest != nil {
		b.OldestDue = *oldest
	}
	return b, nil
}
