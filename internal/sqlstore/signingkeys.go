package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
)

const signingKeyColumns = `kid, study_id, public_key, private_key, created_at, expires_at`

func (s *Store) scanSigningKey(row Row) (*hookshot.SigningKey, error) {
	var k hookshot.SigningKey
	var public []byte
	if err := row.Scan(&k.ID, &k.StudyID, &public, &k.SealedPrivateKey, s.e.ScanTime(&k.CreatedAt), s.e.ScanNullTime(&k.ExpiresAt)); err != nil {
		return nil, err
	}
	k.PublicKey = public
	return &k, nil
}

// SigningKeys returns the study's keys in force at now, newest first.
func (s *Store) SigningKeys(ctx context.Context, studyID int64, now time.Time) ([]*hookshot.SigningKey, error) {
	rows, err := s.e.Reader().Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		WHERE study_id = $1 AND (expires_at IS NULL OR expires_at > $2)
		ORDER BY created_at DESC, kid`, studyID, s.e.Time(Timestamp(now)))
	keys, err := collect(rows, err, func(r Rows) (*hookshot.SigningKey, error) { return s.scanSigningKey(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: reading the signing keys of study %d: %w", s.name, studyID, err)
	}
	return keys, nil
}

// EnsureSigningKey inserts k unless its study has a current key, and
// returns the study's current key. The unique index on current keys
// decides between processes racing to insert the first one: the loser's
// insert does nothing, and it reads the winner's.
func (s *Store) EnsureSigningKey(ctx context.Context, k *hookshot.SigningKey) (*hookshot.SigningKey, error) {
	k.CreatedAt = stamp(k.CreatedAt)
	k.ExpiresAt = nil
	var current *hookshot.SigningKey
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT DO NOTHING`,
			k.ID, k.StudyID, []byte(k.PublicKey), k.SealedPrivateKey, s.e.Time(k.CreatedAt)); err != nil {
			return fmt.Errorf("inserting: %w", err)
		}
		var err error
		current, err = s.scanSigningKey(tx.QueryRow(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
			WHERE study_id = $1 AND expires_at IS NULL`, k.StudyID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("study %d has no current key after inserting one", k.StudyID)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: creating a signing key for study %d: %w", s.name, k.StudyID, err)
	}
	return current, nil
}

// RotateSigningKey ends the current key at until, deletes keys expired by
// now, and inserts k as the current key, with e, in one transaction.
func (s *Store) RotateSigningKey(ctx context.Context, k *hookshot.SigningKey, now, until time.Time, e *hookshot.AuditEntry) error {
	k.CreatedAt = stamp(k.CreatedAt)
	k.ExpiresAt = nil
	now, until = Timestamp(now), Timestamp(until)
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		// Deleting first keeps the table to the keys a receiver may still
		// meet: each rotation adds one and removes those that ran out.
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE study_id = $1 AND expires_at <= $2`,
			k.StudyID, s.e.Time(now)); err != nil {
			return 0, fmt.Errorf("deleting expired keys: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET expires_at = $2 WHERE study_id = $1 AND expires_at IS NULL`,
			k.StudyID, s.e.Time(until)); err != nil {
			return 0, fmt.Errorf("ending the current key: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, NULL)`,
			k.ID, k.StudyID, []byte(k.PublicKey), k.SealedPrivateKey, s.e.Time(k.CreatedAt)); err != nil {
			return 0, fmt.Errorf("inserting the new key: %w", err)
		}
		return 0, nil
	})
	if err != nil {
		return s.fail(err, "rotating the signing key of study %d", k.StudyID)
	}
	return nil
}
