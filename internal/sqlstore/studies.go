package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookshot/hookshot"
)

// Studies returns every study that has webhooks, by ascending id, with
// their counts. One aggregate over the webhooks_study_id index: the list
// is as long as the number of studies, not of webhooks.
func (s *Store) Studies(ctx context.Context) ([]hookshot.StudySummary, error) {
	rows, err := s.e.Reader().Query(ctx, `
		SELECT study_id, COUNT(*), COALESCE(SUM(CASE WHEN active THEN 1 ELSE 0 END), 0)
		FROM webhooks GROUP BY study_id ORDER BY study_id`)
	out, err := collect(rows, err, func(r Rows) (hookshot.StudySummary, error) {
		var sum hookshot.StudySummary
		err := r.Scan(&sum.StudyID, &sum.Webhooks, &sum.Active)
		return sum, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: listing the studies that have webhooks: %w", s.name, err)
	}
	return out, nil
}
