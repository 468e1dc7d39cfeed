package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

const webhookColumns = `id, study_id, url, auth, credentials, events, event_options, active,
	validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at`

func scanWebhook(row pgx.Row) (*hookshot.Webhook, error) {
	var (
		w                     hookshot.Webhook
		auth, events, options []byte
		status                string
		deliveryID            *string
	)
	err := row.Scan(&w.ID, &w.StudyID, &w.URL, &auth, &w.SealedCredentials, &events, &options, &w.Active,
		&status, &deliveryID, &w.Validation.CheckedAt, &w.CreatedAt, &w.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := columns.DecodeWebhook(&w, auth, events, options); err != nil {
		return nil, err
	}
	w.Validation.Status = hookshot.ValidationStatus(status)
	w.Validation.DeliveryID = deref(deliveryID)
	w.Validation.CheckedAt = utcPtr(w.Validation.CheckedAt)
	w.CreatedAt = w.CreatedAt.UTC()
	w.UpdatedAt = w.UpdatedAt.UTC()
	return &w, nil
}

// CreateWebhook inserts w, and validation when it is not nil, in one
// transaction. It sets w.ID, fills a zero CreatedAt or UpdatedAt with the
// current time, and makes validation w's current validation delivery.
func (s *Store) CreateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery) error {
	w.CreatedAt = columns.Stamp(w.CreatedAt)
	w.UpdatedAt = columns.Stamp(w.UpdatedAt)
	if validation != nil {
		w.Validation.DeliveryID = validation.ID
	}
	w.Validation.CheckedAt = normalizePtr(w.Validation.CheckedAt)
	enc, err := columns.EncodeWebhook(w)
	if err != nil {
		return fmt.Errorf("postgres: creating webhook: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO webhooks (study_id, url, auth, credentials, events, event_options, active,
				validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			RETURNING id`,
			w.StudyID, w.URL, enc.Auth, w.SealedCredentials, enc.Events, enc.Options, w.Active,
			string(w.Validation.Status), nullString(w.Validation.DeliveryID), w.Validation.CheckedAt,
			w.CreatedAt, w.UpdatedAt,
		).Scan(&w.ID)
		if err != nil {
			return err
		}
		if validation == nil {
			return nil
		}
		// The caller could not know the webhook's id before this insert.
		validation.WebhookID = w.ID
		validation.StudyID = w.StudyID
		if _, err := insertDeliveries(ctx, tx, []*hookshot.Delivery{validation}); err != nil {
			return err
		}
		return notify(ctx, tx)
	})
	if err != nil {
		w.ID = 0
		return fmt.Errorf("postgres: creating webhook: %w", err)
	}
	return nil
}

// Webhook returns one webhook of a study, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, studyID, id int64) (*hookshot.Webhook, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx,
		`SELECT `+webhookColumns+` FROM webhooks WHERE id = $1 AND study_id = $2`, id, studyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: reading webhook %d: %w", id, err)
	}
	return w, nil
}

// Webhooks returns a study's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, studyID int64) ([]*hookshot.Webhook, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+webhookColumns+` FROM webhooks WHERE study_id = $1 ORDER BY created_at, id`, studyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing webhooks of study %d: %w", studyID, err)
	}
	defer rows.Close()
	var out []*hookshot.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: listing webhooks of study %d: %w", studyID, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: listing webhooks of study %d: %w", studyID, err)
	}
	return out, nil
}

// UpdateWebhook saves every field of w but ID, StudyID and CreatedAt, and
// inserts validation, when it is not nil, as w's current validation
// delivery, in one transaction. A zero UpdatedAt is filled with the
// current time. Returns ErrNotFound when w does not exist in its study.
func (s *Store) UpdateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery) error {
	w.UpdatedAt = columns.Stamp(w.UpdatedAt)
	if validation != nil {
		w.Validation.DeliveryID = validation.ID
	}
	w.Validation.CheckedAt = normalizePtr(w.Validation.CheckedAt)
	enc, err := columns.EncodeWebhook(w)
	if err != nil {
		return fmt.Errorf("postgres: updating webhook %d: %w", w.ID, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The validation columns change only with a new validation
		// delivery: a result recorded since w was read must not be undone
		// by an edit of other fields.
		var status string
		var deliveryID *string
		err := tx.QueryRow(ctx, `
			UPDATE webhooks SET url = $3, auth = $4, credentials = $5, events = $6, event_options = $7,
				active = $8,
				validation_status = CASE WHEN $13 THEN $9 ELSE validation_status END,
				validation_delivery_id = CASE WHEN $13 THEN $10 ELSE validation_delivery_id END,
				validation_checked_at = CASE WHEN $13 THEN $11 ELSE validation_checked_at END,
				updated_at = $12
			WHERE id = $1 AND study_id = $2
			RETURNING created_at, validation_status, validation_delivery_id, validation_checked_at`,
			w.ID, w.StudyID, w.URL, enc.Auth, w.SealedCredentials, enc.Events, enc.Options, w.Active,
			string(w.Validation.Status), nullString(w.Validation.DeliveryID), w.Validation.CheckedAt,
			w.UpdatedAt, validation != nil,
		).Scan(&w.CreatedAt, &status, &deliveryID, &w.Validation.CheckedAt)
		w.Validation.Status = hookshot.ValidationStatus(status)
		w.Validation.DeliveryID = deref(deliveryID)
		w.Validation.CheckedAt = normalizePtr(w.Validation.CheckedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("webhook %d of study %d: %w", w.ID, w.StudyID, hookshot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		w.CreatedAt = w.CreatedAt.UTC()
		if validation == nil {
			return nil
		}
		validation.WebhookID = w.ID
		validation.StudyID = w.StudyID
		if _, err := insertDeliveries(ctx, tx, []*hookshot.Delivery{validation}); err != nil {
			return err
		}
		return notify(ctx, tx)
	})
	if errors.Is(err, hookshot.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("postgres: updating webhook %d: %w", w.ID, err)
	}
	return nil
}

// DeleteWebhook removes a webhook; its deliveries and their attempts go
// with it (ON DELETE CASCADE). Returns ErrNotFound when it does not exist
// in the study.
//
// It locks the webhook's deliveries before the webhook: RecordResults
// locks a delivery and then its webhook (a validation outcome), and a bare
// DELETE, which locks the webhook and then cascades to the deliveries,
// could deadlock with it.
func (s *Store) DeleteWebhook(ctx context.Context, studyID, id int64) error {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM deliveries WHERE webhook_id = $1 AND study_id = $2 ORDER BY id FOR UPDATE`, id, studyID); err != nil {
			return fmt.Errorf("locking deliveries: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND study_id = $2`, id, studyID)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: deleting webhook %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
	}
	return nil
}

func normalizePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := columns.Timestamp(*t)
	return &u
}
