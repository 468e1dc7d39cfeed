package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

// CreateWebhook inserts w, validation when it is not nil, and e when it is
// not nil, in one transaction. It sets w.ID, fills a zero CreatedAt or
// UpdatedAt with the current time, and makes validation w's current
// validation delivery, setting validation's WebhookID and StudyID to w's.
func (s *Store) CreateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery, e *hookshot.AuditEntry) error {
	w.CreatedAt = stamp(w.CreatedAt)
	enc, err := prepareWebhook(w, validation)
	if err != nil {
		return s.fail(err, "creating webhook")
	}
	var id int64
	err = s.change(ctx, e, func(tx Querier) (int64, error) {
		var err error
		if id, err = s.insertWebhook(ctx, tx, w, enc); err != nil {
			return 0, err
		}
		if validation == nil {
			return id, nil
		}
		// The caller could not know the webhook's id before this insert.
		validation.WebhookID = id
		validation.StudyID = w.StudyID
		return id, s.insertDue(ctx, tx, validation)
	})
	if err != nil {
		return s.fail(err, "creating webhook")
	}
	w.ID = id
	return nil
}

// insertWebhook inserts w's row in tx and returns its new id.
func (s *Store) insertWebhook(ctx context.Context, tx Querier, w *hookshot.Webhook, enc webhookJSON) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO webhooks (study_id, url, auth, credentials, events, event_options, active,
			validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at,
			description, format, previous_secret_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		RETURNING id`,
		w.StudyID, w.URL, enc.auth, w.SealedCredentials, enc.events, enc.options, w.Active,
		string(w.Validation.Status), nullString(w.Validation.DeliveryID), s.e.NullTime(w.Validation.CheckedAt),
		s.e.Time(w.CreatedAt), s.e.Time(w.UpdatedAt), w.Description,
		enc.format, s.e.NullTime(w.PreviousSecretUntil),
	).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("inserting: %w", err)
	}
	return id, nil
}

// prepareWebhook normalises w's times for writing, filling a zero
// UpdatedAt, makes validation, when it is not nil, w's current validation
// delivery, and encodes w's JSON columns.
func prepareWebhook(w *hookshot.Webhook, validation *hookshot.Delivery) (webhookJSON, error) {
	w.UpdatedAt = stamp(w.UpdatedAt)
	w.Validation.CheckedAt = timestampPtr(w.Validation.CheckedAt)
	w.PreviousSecretUntil = timestampPtr(w.PreviousSecretUntil)
	if w.Format == "" {
		w.Format = webhook.FormatActiGraph
	}
	if validation != nil {
		w.Validation.DeliveryID = validation.ID
	}
	return encodeWebhook(w)
}

// insertDue inserts one delivery that is due now, and wakes the other
// processes for it.
func (s *Store) insertDue(ctx context.Context, tx Querier, d *hookshot.Delivery) error {
	if _, err := s.insertDeliveries(ctx, tx, []*hookshot.Delivery{d}); err != nil {
		return err
	}
	return s.e.DeliveriesDue(ctx, tx)
}

// last24h reads a webhook's Health.Last24h from its hourly counts (see
// recordHealth), in the current hour and the 23 before it, by this
// process's clock.
const last24h = `,
	(SELECT coalesce(sum(h.attempts), 0) FROM webhook_health_hours h WHERE h.webhook_id = webhooks.id AND h.hour >= $1),
	(SELECT coalesce(sum(h.failures), 0) FROM webhook_health_hours h WHERE h.webhook_id = webhooks.id AND h.hour >= $1)`

// healthCutoff is the first hour that last24h counts.
func (s *Store) healthCutoff() any {
	return s.e.Time(Timestamp(time.Now()).Truncate(time.Hour).Add(-23 * time.Hour))
}

func (s *Store) scanWebhookHealth(row Row) (*hookshot.Webhook, error) {
	var c hookshot.AttemptCounts
	w, err := s.scanWebhook(row, &c.Attempts, &c.Failures)
	if err == nil {
		w.Health.Last24h = c
	}
	return w, err
}

// Webhook returns one webhook of a study, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, studyID, id int64) (*hookshot.Webhook, error) {
	w, err := s.scanWebhookHealth(s.e.Reader().QueryRow(ctx,
		`SELECT `+webhookColumns+last24h+` FROM webhooks WHERE id = $2 AND study_id = $3`, s.healthCutoff(), id, studyID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading webhook %d: %w", s.name, id, err)
	}
	return w, nil
}

// Webhooks returns a study's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, studyID int64) ([]*hookshot.Webhook, error) {
	rows, err := s.e.Reader().Query(ctx,
		`SELECT `+webhookColumns+last24h+` FROM webhooks WHERE study_id = $2 ORDER BY created_at, id`, s.healthCutoff(), studyID)
	out, err := collect(rows, err, func(r Rows) (*hookshot.Webhook, error) { return s.scanWebhookHealth(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: listing webhooks of study %d: %w", s.name, studyID, err)
	}
	return out, nil
}

// UpdateWebhook saves every field of w but ID, StudyID and CreatedAt, and
// inserts validation, when it is not nil, as w's current validation
// delivery, and e, when it is not nil, in one transaction. A zero
// UpdatedAt is filled with the current time, and w.CreatedAt is set to the
// stored one. Returns ErrNotFound when w does not exist in its study.
func (s *Store) UpdateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery, e *hookshot.AuditEntry) error {
	enc, err := prepareWebhook(w, validation)
	if err != nil {
		return s.fail(err, "updating webhook %d", w.ID)
	}
	var stored *hookshot.Webhook
	err = s.change(ctx, e, func(tx Querier) (int64, error) {
		// The validation columns change only with a new validation
		// delivery: a result recorded since w was read must not be undone
		// by an edit of other fields. Health is the recording's alone, but
		// enabling a disabled webhook starts its run of failures afresh, so
		// that the next failure does not disable it again at once; enabling
		// or disabling by hand clears the service's reason.
		var err error
		stored, err = s.scanWebhook(tx.QueryRow(ctx, `
			UPDATE webhooks SET url = $3, auth = $4, credentials = $5, events = $6, event_options = $7,
				active = $8,
				validation_status = CASE WHEN $13 THEN $9 ELSE validation_status END,
				validation_delivery_id = CASE WHEN $13 THEN $10 ELSE validation_delivery_id END,
				validation_checked_at = CASE WHEN $13 THEN $11 ELSE validation_checked_at END,
				failing_since = CASE WHEN $8 AND NOT active THEN NULL ELSE failing_since END,
				consecutive_failures = CASE WHEN $8 AND NOT active THEN 0 ELSE consecutive_failures END,
				disabled_reason = CASE WHEN $8 OR active THEN NULL ELSE disabled_reason END,
				disabled_since = CASE WHEN $8 OR active THEN NULL ELSE disabled_since END,
				updated_at = $12, description = $14, format = $15, previous_secret_until = $16
			WHERE id = $1 AND study_id = $2
			RETURNING `+webhookColumns,
			w.ID, w.StudyID, w.URL, enc.auth, w.SealedCredentials, enc.events, enc.options, w.Active,
			string(w.Validation.Status), nullString(w.Validation.DeliveryID), s.e.NullTime(w.Validation.CheckedAt),
			s.e.Time(w.UpdatedAt), validation != nil, w.Description, enc.format, s.e.NullTime(w.PreviousSecretUntil),
		))
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("webhook %d of study %d: %w", w.ID, w.StudyID, hookshot.ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("updating: %w", err)
		}
		if validation == nil {
			return 0, nil
		}
		validation.WebhookID = w.ID
		validation.StudyID = w.StudyID
		return 0, s.insertDue(ctx, tx, validation)
	})
	if err != nil {
		return s.fail(err, "updating webhook %d", w.ID)
	}
	w.CreatedAt = stored.CreatedAt
	w.Validation = stored.Validation
	last24h := w.Health.Last24h
	w.Health = stored.Health
	w.Health.Last24h = last24h
	w.DisabledReason = stored.DisabledReason
	return nil
}

// DeleteWebhook removes a webhook, and appends e when it is not nil, in one
// transaction; its deliveries and their attempts go with it (ON DELETE
// CASCADE), leased or not: a lease holder's results for them are skipped.
// Returns ErrNotFound when it does not exist in the study.
func (s *Store) DeleteWebhook(ctx context.Context, studyID, id int64, e *hookshot.AuditEntry) error {
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		// Where rows are locked, the webhook's deliveries are locked before
		// the webhook: RecordResults locks a delivery and then its webhook
		// (a validation outcome), and a bare DELETE, which locks the
		// webhook and then cascades to the deliveries, could deadlock with
		// it.
		if lock := s.e.ForUpdate(); lock != "" {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM deliveries WHERE webhook_id = $1 AND study_id = $2 ORDER BY id `+lock,
				id, studyID); err != nil {
				return 0, fmt.Errorf("locking deliveries: %w", err)
			}
		}
		n, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND study_id = $2`, id, studyID)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
		}
		return 0, nil
	})
	if err != nil {
		return s.fail(err, "deleting webhook %d", id)
	}
	return nil
}
