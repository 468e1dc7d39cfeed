package sqlstore

import (
	"context"

	"github.com/hookshot/hookshot"
)

// PublishEvents publishes every item as PublishEvent would, all in one
// transaction: either every event is stored or answered under its key, or
// nothing is. A key reused with another request hash fails the whole call
// with a *hookshot.BatchItemError naming the item, which wraps
// ErrIdempotencyMismatch. The other processes are woken once.
func (s *Store) PublishEvents(ctx context.Context, items []hookshot.PublishItem) ([]*hookshot.Publication, error) {
	var pubs []*hookshot.Publication
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		pubs = make([]*hookshot.Publication, len(items))
		due := false
		for i, it := range items {
			pub, err := s.publishInTx(ctx, tx, it.Event, it.Deliveries, it.Key)
			if err != nil {
				return &hookshot.BatchItemError{Index: i, Err: err}
			}
			pubs[i] = pub
			created := !pub.Replayed && len(pub.Deliveries) > 0
			if created && it.Audit != nil {
				saved, err := s.insertAudit(ctx, tx, it.Audit, 0)
				if err != nil {
					return &hookshot.BatchItemError{Index: i, Err: err}
				}
				*it.Audit = saved
			}
			due = due || dueNow(pub)
		}
		if due {
			return s.e.DeliveriesDue(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail(err, "publishing a batch of %d events", len(items))
	}
	return pubs, nil
}
