package service

import (
	"context"

	"github.com/hookshot/hookshot"
)

// Studies returns the studies that have webhooks, by ascending id, with
// how many each has and how many are enabled: every such study for an
// admin, and only those the caller manages for anyone else.
func (s *Webhooks) Studies(ctx context.Context, p *hookshot.Principal) ([]hookshot.StudySummary, error) {
	all, err := s.store.Studies(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sum := range all {
		if p.CanManage(sum.StudyID) {
			out = append(out, sum)
		}
	}
	return out, nil
}
