package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hookshot/hookshot"
)

// MaxBatch is the most events one batch may hold (SPEC §17).
const MaxBatch = 500

// PublishBatch publishes events together (SPEC §17): every event is
// checked first, and when any is invalid the answer is EInvalid naming each
// problem by its index (events[3].payload.status) and nothing is stored.
// Otherwise all are stored in one transaction, each under the idempotency
// rules of Publish, and the publications come back in the events' order.
// A key that an earlier publish used for a different event is EConflict
// naming the index, and stores nothing either.
func (s *Events) PublishBatch(ctx context.Context, p *hookshot.Principal, studyID int64, events []PublishInput, traceParent string) ([]*hookshot.Publication, error) {
	if err := mayPublish(p, studyID); err != nil {
		return nil, err
	}
	switch {
	case len(events) == 0:
		return nil, hookshot.Invalid("The batch is empty: send {\"events\": [...]} with 1 to 500 events.",
			hookshot.FieldError{Field: "events", Message: fmt.Sprintf("must hold 1 to %d events", MaxBatch)})
	case len(events) > MaxBatch:
		return nil, hookshot.Invalid(fmt.Sprintf("The batch holds %d events, more than the limit of %d; split it into several batches.", len(events), MaxBatch),
			hookshot.FieldError{Field: "events", Message: fmt.Sprintf("must hold 1 to %d events, not %d", MaxBatch, len(events))})
	}
	webhooks, err := s.store.RoutingWebhooks(ctx, studyID)
	if err != nil {
		return nil, err
	}
	t := s.clock.Now()
	items := make([]hookshot.PublishItem, 0, len(events))
	var problems []hookshot.FieldError
	type firstUse struct {
		index int
		hash  string
	}
	keys := map[string]firstUse{} // by idempotency key
	for i, in := range events {
		prefix := fmt.Sprintf("events[%d].", i)
		if in.TraceParent == "" {
			in.TraceParent = traceParent
		}
		item, err := s.prepare(studyID, in, webhooks, t)
		var e *hookshot.Error
		if errors.As(err, &e) && e.Code == hookshot.EInvalid {
			for _, f := range e.FieldErrors {
				if f.Field == "Idempotency-Key" {
					f.Field = "idempotency_key"
				}
				f.Field = prefix + f.Field
				problems = append(problems, f)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if item.Key != nil {
			// Within one batch a key names one event: the same event twice
			// is answered twice, as it would be in two requests; another
			// event under the same key is a mistake to point at now rather
			// than a conflict after the first is stored.
			first, seen := keys[item.Key.Key]
			if seen && first.hash != item.Key.RequestHash {
				problems = append(problems, hookshot.FieldError{Field: prefix + "idempotency_key",
					Message: fmt.Sprintf("%q is also the key of events[%d], a different event; give each event its own key", item.Key.Key, first.index)})
				continue
			}
			if !seen {
				keys[item.Key.Key] = firstUse{index: i, hash: item.Key.RequestHash}
			}
		}
		items = append(items, item)
	}
	if len(problems) > 0 {
		return nil, hookshot.Invalid(batchSummary(problems), problems...)
	}
	var offered []*hookshot.Delivery
	for _, it := range items {
		offered = append(offered, it.Deliveries...)
	}
	r := s.reserve(offered)
	pubs, err := s.store.PublishEvents(ctx, items)
	if err != nil {
		r.Cancel()
	} else {
		handOver(r, pubs, webhooks)
	}
	var itemErr *hookshot.BatchItemError
	if errors.Is(err, hookshot.ErrIdempotencyMismatch) && errors.As(err, &itemErr) {
		key := events[itemErr.Index].IdempotencyKey
		field := fmt.Sprintf("events[%d].idempotency_key", itemErr.Index)
		return nil, &hookshot.Error{Code: hookshot.EConflict,
			Message:     fmt.Sprintf("Nothing was published: %s %q was used within the last %s for a different event; use a new key for a new event.", field, key, s.cfg.IdempotencyWindow),
			FieldErrors: []hookshot.FieldError{{Field: field, Message: "was used for a different event"}}}
	}
	if err != nil {
		return nil, err
	}
	due := false
	for _, pub := range pubs {
		if !pub.Replayed {
			s.published.WithLabelValues(pub.Event.Type).Inc()
			due = due || dueNow(pub.Deliveries)
		}
	}
	if due {
		notify(s.notifier)
	}
	return pubs, nil
}

// batchSummary says how many problems a batch has, naming the first few.
func batchSummary(problems []hookshot.FieldError) string {
	const shown = 5
	parts := make([]string, 0, shown+1)
	for i, p := range problems {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(problems)-shown))
			break
		}
		parts = append(parts, p.Field+" "+p.Message)
	}
	return "Nothing was published: " + strings.Join(parts, "; ") + "."
}
