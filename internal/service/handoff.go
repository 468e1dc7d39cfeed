package service

import (
	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/delivery"
)

// HandOff is this process's delivery engine as a publish sees it
// (*delivery.Engine): a publish reserves slots for its new deliveries,
// inserts those it got leased to the engine, and once its transaction has
// committed starts them there, so that their first attempt needs no claim
// (see delivery.Engine.Reserve).
type HandOff interface {
	Reserve(webhooks []int64) *delivery.Reservation
}

// reserve asks the engine, when there is one, for slots for deliveries,
// and marks those it holds to be inserted leased to it. Publish builds
// deliveries only for webhooks that are enabled and validated, so each is
// one the engine would claim, but for a relay's, which the store inserts
// due (see hookshot.Delivery.LeaseOwner).
func (s *Events) reserve(deliveries []*hookshot.Delivery) *delivery.Reservation {
	if s.cfg.HandOff == nil || len(deliveries) == 0 {
		return nil
	}
	webhooks := make([]int64, len(deliveries))
	for i, d := range deliveries {
		webhooks[i] = d.WebhookID
	}
	r := s.cfg.HandOff.Reserve(webhooks)
	for i, d := range deliveries {
		if r.Holds(i) {
			d.LeaseOwner, d.LeaseUntil = r.Owner, r.LeaseUntil
		}
	}
	return r
}

// handOver starts r's deliveries in the engine once their publications
// are committed: those the store inserted leased, with what a claim would
// have loaded (the webhooks the publish routed by, shared with the
// routing cache: the engine only reads them). A publication answered
// under its key (Replayed) stored nothing new; its deliveries' slots are
// freed.
func handOver(r *delivery.Reservation, pubs []*hookshot.Publication, webhooks []*hookshot.Webhook) {
	if r == nil {
		return
	}
	var jobs []*hookshot.Job
	for _, pub := range pubs {
		if pub.Replayed {
			continue
		}
		for _, d := range pub.Deliveries {
			if d.LeaseOwner == "" {
				continue
			}
			w := findIn(webhooks, d.WebhookID)
			if w == nil {
				continue // not one this publish routed to: nothing to start
			}
			// The engine gets its own copy, as from a claim: leased, and
			// due again when the lease runs out.
			job := *d
			job.NextAttemptAt = d.LeaseUntil
			jobs = append(jobs, &hookshot.Job{Delivery: &job, Webhook: w, Payload: pub.Event.Payload, Test: pub.Event.Test})
		}
	}
	r.Start(jobs)
}

// findIn returns the webhook with id among webhooks, or nil.
func findIn(webhooks []*hookshot.Webhook, id int64) *hookshot.Webhook {
	for _, w := range webhooks {
		if w.ID == id {
			return w
		}
	}
	return nil
}

// dueNow reports whether deliveries holds one that was not handed off: it
// is due in the store, for the engine or a relay's CLI to claim.
func dueNow(deliveries []*hookshot.Delivery) bool {
	for _, d := range deliveries {
		if d.LeaseOwner == "" {
			return true
		}
	}
	return false
}
