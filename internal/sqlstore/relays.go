package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
)

// CreateRelay inserts w and its relay row, and e when it is not nil, in
// one transaction (hookshot.RelayStore).
func (s *Store) CreateRelay(ctx context.Context, w *hookshot.Webhook, expiresAt time.Time, e *hookshot.AuditEntry) error {
	w.CreatedAt = stamp(w.CreatedAt)
	enc, err := prepareWebhook(w, nil)
	if err != nil {
		return s.fail(err, "creating relay")
	}
	var id int64
	err = s.change(ctx, e, func(tx Querier) (int64, error) {
		var err error
		if id, err = s.insertWebhook(ctx, tx, w, enc); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO relays (webhook_id, expires_at) VALUES ($1, $2)`,
			id, s.e.Time(Timestamp(expiresAt))); err != nil {
			return 0, fmt.Errorf("inserting relay: %w", err)
		}
		return id, nil
	})
	if err != nil {
		return s.fail(err, "creating relay")
	}
	w.ID = id
	return nil
}

// ClaimRelay refreshes the relay's expiry and leases its due deliveries
// (hookshot.RelayStore). The jobs' deliveries show the end of the lease as
// NextAttemptAt, as ClaimDeliveries' do.
func (s *Store) ClaimRelay(ctx context.Context, studyID, webhookID int64, expiresAt time.Time, c hookshot.Claim) ([]*hookshot.Job, error) {
	now := Timestamp(c.Now)
	leaseEnd := Timestamp(c.Now.Add(c.LeaseFor))
	var jobs []*hookshot.Job
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		n, err := tx.Exec(ctx, `
			UPDATE relays SET expires_at = $1
			WHERE webhook_id = $2 AND webhook_id IN (SELECT id FROM webhooks WHERE study_id = $3)`,
			s.e.Time(Timestamp(expiresAt)), webhookID, studyID)
		if err != nil {
			return fmt.Errorf("refreshing the expiry: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("relay %d of study %d: %w", webhookID, studyID, hookshot.ErrNotFound)
		}
		if c.Limit <= 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `
			SELECT `+DeliveryColumns+` FROM deliveries
			WHERE webhook_id = $1 AND status = 'in_progress' AND next_attempt_at <= $2
			ORDER BY next_attempt_at, id
			LIMIT $3 `+s.e.ForUpdate(),
			webhookID, s.e.Time(now), c.Limit)
		claimed, err := collect(rows, err, s.scanDelivery)
		if err != nil {
			return fmt.Errorf("claiming: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		ids := make([]string, len(claimed))
		for i, d := range claimed {
			ids[i] = d.ID
			d.NextAttemptAt = leaseEnd
		}
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET lease_owner = $1, next_attempt_at = $2 WHERE `+s.e.AnyOf("id", "$3"),
			c.Owner, s.e.Time(leaseEnd), s.e.Strings(ids)); err != nil {
			return fmt.Errorf("leasing: %w", err)
		}
		jobs, err = s.jobs(ctx, tx, claimed)
		return err
	})
	if err != nil {
		return nil, s.fail(err, "claiming deliveries of relay %d", webhookID)
	}
	return jobs, nil
}

// RelayJob reads one leased delivery of a relay as a job
// (hookshot.RelayStore).
func (s *Store) RelayJob(ctx context.Context, studyID, webhookID int64, deliveryID, owner string) (*hookshot.Job, error) {
	var job *hookshot.Job
	err := s.e.ReadTx(ctx, func(q Querier) error {
		d, err := ScanDelivery(s.e, q.QueryRow(ctx, `
			SELECT `+DeliveryColumns+` FROM deliveries
			WHERE id = $1 AND webhook_id = $2 AND study_id = $3 AND status = 'in_progress' AND lease_owner = $4
				AND webhook_id IN (SELECT webhook_id FROM relays)`,
			deliveryID, webhookID, studyID, owner))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %s of relay %d, leased to %s: %w", deliveryID, webhookID, owner, hookshot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		jobs, err := s.jobs(ctx, q, []*hookshot.Delivery{d})
		if err != nil {
			return err
		}
		job = jobs[0]
		return nil
	})
	if err != nil {
		return nil, s.fail(err, "reading delivery %s of relay %d", deliveryID, webhookID)
	}
	return job, nil
}

// ExpiredRelays lists expired relays (hookshot.RelayStore).
func (s *Store) ExpiredRelays(ctx context.Context, now time.Time, limit int) ([]hookshot.RelayRef, error) {
	rows, err := s.e.Reader().Query(ctx, `
		SELECT w.study_id, w.id FROM relays r JOIN webhooks w ON w.id = r.webhook_id
		WHERE r.expires_at <= $1
		ORDER BY r.expires_at, w.id
		LIMIT $2`, s.e.Time(Timestamp(now)), limit)
	out, err := collect(rows, err, func(r Rows) (hookshot.RelayRef, error) {
		var ref hookshot.RelayRef
		err := r.Scan(&ref.StudyID, &ref.WebhookID)
		return ref, err
	})
	if err != nil {
		return nil, s.fail(err, "listing expired relays")
	}
	return out, nil
}

// DeleteExpiredRelay deletes a relay whose expiry has passed
// (hookshot.RelayStore), locking as DeleteWebhook does.
func (s *Store) DeleteExpiredRelay(ctx context.Context, ref hookshot.RelayRef, now time.Time, e *hookshot.AuditEntry) error {
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		if lock := s.e.ForUpdate(); lock != "" {
			// Deliveries before the webhook, as in DeleteWebhook.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM deliveries WHERE webhook_id = $1 AND study_id = $2 ORDER BY id `+lock,
				ref.WebhookID, ref.StudyID); err != nil {
				return 0, fmt.Errorf("locking deliveries: %w", err)
			}
		}
		n, err := tx.Exec(ctx, `
			DELETE FROM webhooks WHERE id = $1 AND study_id = $2
				AND id IN (SELECT webhook_id FROM relays WHERE expires_at <= $3)`,
			ref.WebhookID, ref.StudyID, s.e.Time(Timestamp(now)))
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("expired relay %d of study %d: %w", ref.WebhookID, ref.StudyID, hookshot.ErrNotFound)
		}
		return 0, nil
	})
	if err != nil {
		return s.fail(err, "deleting expired relay %d", ref.WebhookID)
	}
	return nil
}

var _ hookshot.RelayStore = (*Store)(nil)
