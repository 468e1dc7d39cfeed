package sqlstore

import (
	"context"
	"fmt"

	"github.com/hookshot/hookshot"
)

// ClaimDeliveries leases up to c.Limit deliveries due at c.Now to c.Owner
// until c.Now+c.LeaseFor, oldest due first (Queue.ClaimDue), and loads
// their webhooks and event payloads in the same transaction, one query
// each. The jobs' deliveries show the end of the lease as NextAttemptAt.
// Times are the caller's clock, never the database's.
func (s *Store) ClaimDeliveries(ctx context.Context, c hookshot.Claim) ([]*hookshot.Job, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	c.Now = Timestamp(c.Now)
	var jobs []*hookshot.Job
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		claimed, err := s.e.ClaimDue(ctx, tx, c)
		if err != nil {
			return fmt.Errorf("claiming: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		jobs, err = s.jobs(ctx, tx, claimed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: claiming deliveries for %s: %w", s.name, c.Owner, err)
	}
	return jobs, nil
}

// jobs turns claimed deliveries into jobs. A batch of 256 deliveries
// typically spans few webhooks and events, each loaded once.
func (s *Store) jobs(ctx context.Context, tx Querier, claimed []*hookshot.Delivery) ([]*hookshot.Job, error) {
	var (
		webhookIDs []int64
		eventIDs   []string
		seenHook   = map[int64]bool{}
		seenEvent  = map[string]bool{}
	)
	for _, d := range claimed {
		if !seenHook[d.WebhookID] {
			seenHook[d.WebhookID] = true
			webhookIDs = append(webhookIDs, d.WebhookID)
		}
		if d.EventID != "" && !seenEvent[d.EventID] {
			seenEvent[d.EventID] = true
			eventIDs = append(eventIDs, d.EventID)
		}
	}

	webhooks := make(map[int64]*hookshot.Webhook, len(webhookIDs))
	rows, err := tx.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE `+s.e.AnyOf("id", "$1"), s.e.Int64s(webhookIDs))
	if err := EachRow(rows, err, func(r Rows) error {
		w, err := s.scanWebhook(r)
		if err == nil {
			webhooks[w.ID] = w
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("loading webhooks: %w", err)
	}
	payloads := make(map[string][]byte, len(eventIDs))
	tests := map[string]bool{}
	if len(eventIDs) > 0 {
		rows, err := tx.Query(ctx, `SELECT id, payload, test FROM events WHERE `+s.e.AnyOf("id", "$1"), s.e.Strings(eventIDs))
		if err := EachRow(rows, err, func(r Rows) error {
			var id string
			var payload []byte
			var test bool
			err := r.Scan(&id, &payload, &test)
			payloads[id] = payload
			tests[id] = test
			return err
		}); err != nil {
			return nil, fmt.Errorf("loading payloads: %w", err)
		}
	}

	jobs := make([]*hookshot.Job, 0, len(claimed))
	for _, d := range claimed {
		// The foreign key, and the claim's locks (SQLite's write lock, or
		// PostgreSQL's row locks, on which a deleting cascade waits),
		// guarantee the webhook; its absence means a corrupt database.
		w := webhooks[d.WebhookID]
		if w == nil {
			return nil, fmt.Errorf("delivery %s: webhook %d is missing", d.ID, d.WebhookID)
		}
		payload := payloads[d.EventID]
		if d.Event == hookshot.EventValidation {
			payload = hookshot.ValidationBody(d.WebhookID, d.ValidationCode)
		}
		jobs = append(jobs, &hookshot.Job{Delivery: d, Webhook: w, Payload: payload, Test: tests[d.EventID]})
	}
	return jobs, nil
}

// RecordResults stores each result's attempt and moves its delivery on,
// and a validation delivery's webhook, in one transaction (Queue's
// RecordResults). A delivery's updated_at becomes the time its attempt
// ended; a webhook's Validation.CheckedAt becomes the time its validation
// attempt started, which is when the answer's request went out and the
// only time every attempt has, answered or not. The results' times are
// normalised in place.
func (s *Store) RecordResults(ctx context.Context, owner string, results []*hookshot.Result) error {
	if len(results) == 0 {
		return nil
	}
	// Encoded before the engine's transaction, which may hold the write
	// lock.
	enc := make([]EncodedResult, len(results))
	for i, r := range results {
		if r.Attempt == nil {
			return fmt.Errorf("%s: recording results for %s: result %d has no attempt", s.name, owner, i)
		}
		enc[i] = encodeResult(r)
	}
	for _, r := range results {
		r.Disabled = nil
	}
	var disabled []*hookshot.Result
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		if err := s.e.RecordResults(ctx, tx, owner, enc); err != nil {
			return err
		}
		var err error
		disabled, err = s.recordHealth(ctx, tx, results)
		return err
	})
	if err != nil {
		for _, r := range disabled {
			r.Disabled = nil
		}
		return fmt.Errorf("%s: recording %d results for %s: %w", s.name, len(results), owner, err)
	}
	return nil
}

// ReleaseDeliveries hands owner's leases on ids back (Queue's
// ReleaseDeliveries); leases of other owners, and deliveries no longer
// leased, are left alone.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.e.ReleaseDeliveries(ctx, owner, ids); err != nil {
		return fmt.Errorf("%s: releasing %d deliveries of %s: %w", s.name, len(ids), owner, err)
	}
	return nil
}
