package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

var _ hookshot.AccountStore = (*Store)(nil)

const accountColumns = `id, email, password_hash, admin, publish_all, publish, manage, created_at, updated_at`

// joinedAccountColumns are accountColumns of the table aliased "a", for
// reading an account beside the token or session that names it.
var joinedAccountColumns = "a." + strings.ReplaceAll(accountColumns, ", ", ", a.")

func scanAccount(row scanner, extra ...any) (*hookshot.Account, error) {
	var (
		a                    hookshot.Account
		publish, manage      string
		createdAt, updatedAt int64
	)
	dest := append([]any{&a.ID, &a.Email, &a.PasswordHash, &a.Admin, &a.PublishAll, &publish, &manage, &createdAt, &updatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if a.Publish, err = columns.DecodeStudies([]byte(publish)); err != nil {
		return nil, fmt.Errorf("account %d: publish: %w", a.ID, err)
	}
	if a.Manage, err = columns.DecodeStudies([]byte(manage)); err != nil {
		return nil, fmt.Errorf("account %d: manage: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &a, nil
}

// isUniqueViolation reports whether err is SQLite's UNIQUE constraint
// failure (SQLITE_CONSTRAINT_UNIQUE), told by its message so as not to
// depend on the driver's error type.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateAccount inserts a and sets its ID. Returns ErrConflict when the
// email is taken, compared without regard to ASCII case.
func (s *Store) CreateAccount(ctx context.Context, a *hookshot.Account) error {
	a.CreatedAt = columns.Stamp(a.CreatedAt)
	a.UpdatedAt = columns.Stamp(a.UpdatedAt)
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO accounts (email, password_hash, admin, publish_all, publish, manage, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			a.Email, a.PasswordHash, a.Admin, a.PublishAll, columns.Studies(a.Publish), columns.Studies(a.Manage),
			micros(a.CreatedAt), micros(a.UpdatedAt)).Scan(&id)
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("account %s: %w", a.Email, hookshot.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: creating account: %w", err)
	}
	a.ID = id
	return nil
}

// Account returns one account, or ErrNotFound.
func (s *Store) Account(ctx context.Context, id int64) (*hookshot.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %d: %w", id, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading account %d: %w", id, err)
	}
	return a, nil
}

// AccountByEmail returns the account with the email, without regard to
// ASCII case, or ErrNotFound.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*hookshot.Account, error) {
	a, err := scanAccount(s.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE lower(email) = lower(?)`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", email, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading account %s: %w", email, err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]*hookshot.Account, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing accounts: %w", err)
	}
	defer rows.Close()
	var out []*hookshot.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: listing accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing accounts: %w", err)
	}
	return out, nil
}

// UpdateAccount saves a's grants and UpdatedAt, and reads back the rest.
func (s *Store) UpdateAccount(ctx context.Context, a *hookshot.Account) error {
	a.UpdatedAt = columns.Stamp(a.UpdatedAt)
	var got *hookshot.Account
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanAccount(tx.QueryRowContext(ctx, `
			UPDATE accounts SET admin = ?, publish_all = ?, publish = ?, manage = ?, updated_at = ?
			WHERE id = ? RETURNING `+accountColumns,
			a.Admin, a.PublishAll, columns.Studies(a.Publish), columns.Studies(a.Manage), micros(a.UpdatedAt), a.ID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %d: %w", a.ID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: updating account %d: %w", a.ID, err)
	}
	*a = *got
	return nil
}

// SetPassword replaces an account's password hash and deletes its
// sessions, in one transaction: no session outlives the password it was
// signed in with.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, at time.Time) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, micros(columns.Stamp(at)), id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: account %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("account %d: %w", id, hookshot.ErrNotFound)
	}
	return nil
}

// DeleteAccount removes an account; its tokens and sessions go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteAccount(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("account %d", id), `DELETE FROM accounts WHERE id = ?`, id)
}

// execOne runs a statement that must change one row, or is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, hookshot.ErrNotFound)
	}
	return nil
}

const tokenColumns = `id, account_id, name, expires_at, revoked_at, last_used_at, created_at`

func scanToken(row scanner) (*hookshot.Token, error) {
	var (
		t                          hookshot.Token
		expires, revoked, lastUsed sql.NullInt64
		createdAt                  int64
	)
	if err := row.Scan(&t.ID, &t.AccountID, &t.Name, &expires, &revoked, &lastUsed, &createdAt); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = timePtr(expires), timePtr(revoked), timePtr(lastUsed)
	t.CreatedAt = fromMicros(createdAt)
	return &t, nil
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

// normalize truncates a time the way the store keeps it, in place.
func normalize(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := columns.Timestamp(*t)
	return &u
}

// CreateToken inserts t with its hash and sets its ID. Returns ErrNotFound
// when the account does not exist.
func (s *Store) CreateToken(ctx context.Context, t *hookshot.Token, hash []byte) error {
	t.CreatedAt = columns.Stamp(t.CreatedAt)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = normalize(t.ExpiresAt), normalize(t.RevokedAt), normalize(t.LastUsedAt)
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO tokens (account_id, name, hash, expires_at, revoked_at, last_used_at, created_at)
			SELECT id, ?, ?, ?, ?, ?, ? FROM accounts WHERE id = ?
			RETURNING id`,
			t.Name, hash, nullMicros(t.ExpiresAt), nullMicros(t.RevokedAt), nullMicros(t.LastUsedAt), micros(t.CreatedAt), t.AccountID,
		).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %d: %w", t.AccountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: creating token: %w", err)
	}
	t.ID = id
	return nil
}

// TokenByHash returns the token with this hash and its account, or
// ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*hookshot.Token, *hookshot.Account, error) {
	row := s.read.QueryRowContext(ctx, `
		SELECT `+joinedAccountColumns+`,
			t.id, t.account_id, t.name, t.expires_at, t.revoked_at, t.last_used_at, t.created_at
		FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = ?`, hash)
	var (
		t                          hookshot.Token
		expires, revoked, lastUsed sql.NullInt64
		createdAt                  int64
	)
	a, err := scanAccount(row, &t.ID, &t.AccountID, &t.Name, &expires, &revoked, &lastUsed, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("token: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading token: %w", err)
	}
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = timePtr(expires), timePtr(revoked), timePtr(lastUsed)
	t.CreatedAt = fromMicros(createdAt)
	return &t, a, nil
}

// Tokens returns an account's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, accountID int64) ([]*hookshot.Token, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing tokens of account %d: %w", accountID, err)
	}
	defer rows.Close()
	var out []*hookshot.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: listing tokens of account %d: %w", accountID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing tokens of account %d: %w", accountID, err)
	}
	return out, nil
}

// RevokeToken sets RevokedAt unless it is set already.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64, at time.Time) (*hookshot.Token, error) {
	var tok *hookshot.Token
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		tok, err = scanToken(tx.QueryRowContext(ctx, `
			UPDATE tokens SET revoked_at = coalesce(revoked_at, ?)
			WHERE id = ? AND account_id = ? RETURNING `+tokenColumns,
			micros(columns.Stamp(at)), id, accountID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token %d of account %d: %w", id, accountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: revoking token %d: %w", id, err)
	}
	return tok, nil
}

// TouchToken sets a token's LastUsedAt.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, micros(columns.Stamp(at)), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: touching token %d: %w", id, err)
	}
	return nil
}

// CreateSession inserts sess with its hash and sets its ID, and deletes
// the sessions that expired before sess.CreatedAt. Returns ErrNotFound
// when the account does not exist.
func (s *Store) CreateSession(ctx context.Context, sess *hookshot.Session, hash []byte) error {
	sess.CreatedAt = columns.Stamp(sess.CreatedAt)
	sess.ExpiresAt = columns.Timestamp(sess.ExpiresAt)
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Before the insert, so that a session created already expired is
		// still there for SessionByHash to report.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(sess.CreatedAt)); err != nil {
			return fmt.Errorf("deleting expired sessions: %w", err)
		}
		return tx.QueryRowContext(ctx, `
			INSERT INTO sessions (account_id, hash, created_at, expires_at)
			SELECT id, ?, ?, ? FROM accounts WHERE id = ?
			RETURNING id`,
			hash, micros(sess.CreatedAt), micros(sess.ExpiresAt), sess.AccountID,
		).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %d: %w", sess.AccountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: creating session: %w", err)
	}
	sess.ID = id
	return nil
}

// SessionByHash returns the session with this hash and its account, or
// ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (*hookshot.Session, *hookshot.Account, error) {
	row := s.read.QueryRowContext(ctx, `
		SELECT `+joinedAccountColumns+`,
			s.id, s.account_id, s.created_at, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = ?`, hash)
	var (
		sess               hookshot.Session
		createdAt, expires int64
	)
	a, err := scanAccount(row, &sess.ID, &sess.AccountID, &createdAt, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("session: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: reading session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromMicros(createdAt), fromMicros(expires)
	return &sess, a, nil
}

// DeleteSession removes the session with this hash, if there is one.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: deleting session: %w", err)
	}
	return nil
}

// AppendAudit inserts e and sets its ID.
func (s *Store) AppendAudit(ctx context.Context, e *hookshot.AuditEntry) error {
	e.At = columns.Stamp(e.At)
	study := sql.NullInt64{Int64: e.StudyID, Valid: e.StudyID != 0}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
			INSERT INTO audit_log (at, actor, action, study_id, target, detail) VALUES (?, ?, ?, ?, ?, ?)
			RETURNING id`, micros(e.At), e.Actor, e.Action, study, e.Target, e.Detail).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("sqlite: appending audit entry: %w", err)
	}
	e.ID = id
	return nil
}

// Audit returns entries newest first.
func (s *Store) Audit(ctx context.Context, f hookshot.AuditFilter) ([]*hookshot.AuditEntry, error) {
	q := `SELECT id, at, actor, action, study_id, target, detail FROM audit_log WHERE 1 = 1`
	var args []any
	if f.StudyID != 0 {
		q += ` AND study_id = ?`
		args = append(args, f.StudyID)
	}
	if f.Before != 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading the audit trail: %w", err)
	}
	defer rows.Close()
	var out []*hookshot.AuditEntry
	for rows.Next() {
		var e hookshot.AuditEntry
		var at int64
		var study sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &study, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: reading the audit trail: %w", err)
		}
		e.At, e.StudyID = fromMicros(at), study.Int64
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: reading the audit trail: %w", err)
	}
	return out, nil
}
