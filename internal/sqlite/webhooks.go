package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

const webhookColumns = `id, study_id, url, auth, credentials, events, event_options, active,
	validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanWebhook(row scanner) (*hookshot.Webhook, error) {
	var (
		w                     hookshot.Webhook
		auth, events, options string
		status                string
		deliveryID            sql.NullString
		checkedAt             sql.NullInt64
		createdAt, updatedAt  int64
	)
	err := row.Scan(&w.ID, &w.StudyID, &w.URL, &auth, &w.SealedCredentials, &events, &options, &w.Active,
		&status, &deliveryID, &checkedAt, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	if err := columns.DecodeWebhook(&w, []byte(auth), []byte(events), []byte(options)); err != nil {
		return nil, err
	}
	w.Validation.Status = hookshot.ValidationStatus(status)
	w.Validation.DeliveryID = deliveryID.String
	if checkedAt.Valid {
		t := fromMicros(checkedAt.Int64)
		w.Validation.CheckedAt = &t
	}
	w.CreatedAt = fromMicros(createdAt)
	w.UpdatedAt = fromMicros(updatedAt)
	return &w, nil
}

// checkedAt is the column value of a webhook's validation CheckedAt.
func checkedAt(w *hookshot.Webhook) sql.NullInt64 {
	if w.Validation.CheckedAt == nil {
		return sql.NullInt64{}
	}
	t := columns.Timestamp(*w.Validation.CheckedAt)
	w.Validation.CheckedAt = &t
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// CreateWebhook inserts w, and validation when it is not nil, in one
// transaction. It sets w.ID, fills a zero CreatedAt or UpdatedAt with the
// current time, and makes validation w's current validation delivery,
// setting validation's WebhookID and StudyID to w's.
func (s *Store) CreateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery) error {
	w.CreatedAt = columns.Stamp(w.CreatedAt)
	w.UpdatedAt = columns.Stamp(w.UpdatedAt)
	if validation != nil {
		w.Validation.DeliveryID = validation.ID
	}
	enc, err := columns.EncodeWebhook(w)
	if err != nil {
		return fmt.Errorf("sqlite: creating webhook: %w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO webhooks (study_id, url, auth, credentials, events, event_options, active,
				validation_status, validation_delivery_id, validation_checked_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			w.StudyID, w.URL, enc.Auth, w.SealedCredentials, enc.Events, enc.Options, w.Active,
			string(w.Validation.Status), nullString(w.Validation.DeliveryID), checkedAt(w),
			micros(w.CreatedAt), micros(w.UpdatedAt),
		).Scan(&id)
		if err != nil {
			return fmt.Errorf("inserting: %w", err)
		}
		if validation == nil {
			return nil
		}
		// The caller could not know the webhook's id before this insert.
		validation.WebhookID = id
		validation.StudyID = w.StudyID
		_, err = insertDeliveries(ctx, tx, []*hookshot.Delivery{validation})
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: creating webhook: %w", err)
	}
	w.ID = id
	return nil
}

// Webhook returns one webhook of a study, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, studyID, id int64) (*hookshot.Webhook, error) {
	w, err := scanWebhook(s.read.QueryRowContext(ctx,
		`SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND study_id = ?`, id, studyID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading webhook %d: %w", id, err)
	}
	return w, nil
}

// Webhooks returns a study's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, studyID int64) ([]*hookshot.Webhook, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+webhookColumns+` FROM webhooks WHERE study_id = ? ORDER BY created_at, id`, studyID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing webhooks of study %d: %w", studyID, err)
	}
	defer rows.Close()
	var out []*hookshot.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: listing webhooks of study %d: %w", studyID, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing webhooks of study %d: %w", studyID, err)
	}
	return out, nil
}

// UpdateWebhook saves every field of w but ID, StudyID and CreatedAt, and
// inserts validation, when it is not nil, as w's current validation
// delivery, in one transaction. A zero UpdatedAt is filled with the current
// time, and w.CreatedAt is set to the stored one. Returns ErrNotFound when
// w does not exist in its study.
func (s *Store) UpdateWebhook(ctx context.Context, w *hookshot.Webhook, validation *hookshot.Delivery) error {
	w.UpdatedAt = columns.Stamp(w.UpdatedAt)
	if validation != nil {
		w.Validation.DeliveryID = validation.ID
	}
	enc, err := columns.EncodeWebhook(w)
	if err != nil {
		return fmt.Errorf("sqlite: updating webhook %d: %w", w.ID, err)
	}
	var createdAt int64
	var status string
	var deliveryID sql.NullString
	var checked sql.NullInt64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// The validation columns change only with a new validation
		// delivery: a result recorded since w was read must not be undone
		// by an edit of other fields.
		err := tx.QueryRowContext(ctx, `
			UPDATE webhooks SET url = ?1, auth = ?2, credentials = ?3, events = ?4, event_options = ?5,
				active = ?6,
				validation_status = CASE WHEN ?12 THEN ?7 ELSE validation_status END,
				validation_delivery_id = CASE WHEN ?12 THEN ?8 ELSE validation_delivery_id END,
				validation_checked_at = CASE WHEN ?12 THEN ?9 ELSE validation_checked_at END,
				updated_at = ?10
			WHERE id = ?11 AND study_id = ?13
			RETURNING created_at, validation_status, validation_delivery_id, validation_checked_at`,
			w.URL, enc.Auth, w.SealedCredentials, enc.Events, enc.Options, w.Active,
			string(w.Validation.Status), nullString(w.Validation.DeliveryID), checkedAt(w),
			micros(w.UpdatedAt), w.ID, validation != nil, w.StudyID,
		).Scan(&createdAt, &status, &deliveryID, &checked)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("webhook %d of study %d: %w", w.ID, w.StudyID, hookshot.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("updating: %w", err)
		}
		if validation == nil {
			return nil
		}
		validation.WebhookID = w.ID
		validation.StudyID = w.StudyID
		_, err = insertDeliveries(ctx, tx, []*hookshot.Delivery{validation})
		return err
	})
	if errors.Is(err, hookshot.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlite: updating webhook %d: %w", w.ID, err)
	}
	w.CreatedAt = fromMicros(createdAt)
	w.Validation = hookshot.Validation{Status: hookshot.ValidationStatus(status), DeliveryID: deliveryID.String}
	if checked.Valid {
		t := fromMicros(checked.Int64)
		w.Validation.CheckedAt = &t
	}
	return nil
}

// DeleteWebhook removes a webhook; its deliveries and their attempts go
// with it (ON DELETE CASCADE), leased or not: a lease holder's results for
// them are skipped. Returns ErrNotFound when it does not exist in the study.
func (s *Store) DeleteWebhook(ctx context.Context, studyID, id int64) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ? AND study_id = ?`, id, studyID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: deleting webhook %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("webhook %d of study %d: %w", id, studyID, hookshot.ErrNotFound)
	}
	return nil
}
