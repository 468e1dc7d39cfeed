package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

var _ hookshot.AccountStore = (*Store)(nil)

const accountColumns = `id, email, password_hash, admin, publish_all, publish, manage, created_at, updated_at`

// joinedAccountColumns are accountColumns of the table aliased "a", for
// reading an account beside the token or session that names it.
var joinedAccountColumns = "a." + strings.ReplaceAll(accountColumns, ", ", ", a.")

func scanAccount(row pgx.Row, extra ...any) (*hookshot.Account, error) {
	var (
		a               hookshot.Account
		publish, manage []byte
	)
	dest := append([]any{&a.ID, &a.Email, &a.PasswordHash, &a.Admin, &a.PublishAll, &publish, &manage, &a.CreatedAt, &a.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if a.Publish, err = columns.DecodeStudies(publish); err != nil {
		return nil, fmt.Errorf("account %d: publish: %w", a.ID, err)
	}
	if a.Manage, err = columns.DecodeStudies(manage); err != nil {
		return nil, fmt.Errorf("account %d: manage: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// CreateAccount inserts a and sets its ID. Returns ErrConflict when the
// email is taken, compared by lower().
func (s *Store) CreateAccount(ctx context.Context, a *hookshot.Account) error {
	a.CreatedAt = columns.Stamp(a.CreatedAt)
	a.UpdatedAt = columns.Stamp(a.UpdatedAt)
	var id int64
	err := s.pool.QueryRow(ctx, `
		INSERT INTO accounts (email, password_hash, admin, publish_all, publish, manage, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		a.Email, a.PasswordHash, a.Admin, a.PublishAll, columns.Studies(a.Publish), columns.Studies(a.Manage),
		a.CreatedAt, a.UpdatedAt).Scan(&id)
	if isUniqueViolation(err) {
		return fmt.Errorf("account %s: %w", a.Email, hookshot.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: creating account: %w", err)
	}
	a.ID = id
	return nil
}

// Account returns one account, or ErrNotFound.
func (s *Store) Account(ctx context.Context, id int64) (*hookshot.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account %d: %w", id, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: reading account %d: %w", id, err)
	}
	return a, nil
}

// AccountByEmail returns the account with the email, compared by lower(),
// or ErrNotFound.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*hookshot.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE lower(email) = lower($1)`, email))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", email, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: reading account %s: %w", email, err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]*hookshot.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing accounts: %w", err)
	}
	defer rows.Close()
	var out []*hookshot.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: listing accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: listing accounts: %w", err)
	}
	return out, nil
}

// UpdateAccount saves a's grants and UpdatedAt, and reads back the rest.
func (s *Store) UpdateAccount(ctx context.Context, a *hookshot.Account) error {
	a.UpdatedAt = columns.Stamp(a.UpdatedAt)
	got, err := scanAccount(s.pool.QueryRow(ctx, `
		UPDATE accounts SET admin = $2, publish_all = $3, publish = $4, manage = $5, updated_at = $6
		WHERE id = $1 RETURNING `+accountColumns,
		a.ID, a.Admin, a.PublishAll, columns.Studies(a.Publish), columns.Studies(a.Manage), a.UpdatedAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("account %d: %w", a.ID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: updating account %d: %w", a.ID, err)
	}
	*a = *got
	return nil
}

// SetPassword replaces an account's password hash and deletes its
// sessions, in one statement: no session outlives the password it was
// signed in with. The row count is the UPDATE's, so an unknown account is
// still ErrNotFound.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, at time.Time) error {
	return s.execOne(ctx, fmt.Sprintf("account %d", id), `
		WITH signed_out AS (DELETE FROM sessions WHERE account_id = $3)
		UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, columns.Stamp(at), id)
}

// DeleteAccount removes an account; its tokens and sessions go with it
// (ON DELETE CASCADE).
func (s *Store) DeleteAccount(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("account %d", id), `DELETE FROM accounts WHERE id = $1`, id)
}

// execOne runs a statement that must change one row, or is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, hookshot.ErrNotFound)
	}
	return nil
}

const tokenColumns = `id, account_id, name, expires_at, revoked_at, last_used_at, created_at`

func scanToken(row pgx.Row) (*hookshot.Token, error) {
	var t hookshot.Token
	if err := row.Scan(&t.ID, &t.AccountID, &t.Name, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.CreatedAt); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = utcPtr(t.ExpiresAt), utcPtr(t.RevokedAt), utcPtr(t.LastUsedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, nil
}

// CreateToken inserts t with its hash and sets its ID. Returns ErrNotFound
// when the account does not exist.
func (s *Store) CreateToken(ctx context.Context, t *hookshot.Token, hash []byte) error {
	t.CreatedAt = columns.Stamp(t.CreatedAt)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = normalizePtr(t.ExpiresAt), normalizePtr(t.RevokedAt), normalizePtr(t.LastUsedAt)
	var id int64
	err := s.pool.QueryRow(ctx, `
		INSERT INTO tokens (account_id, name, hash, expires_at, revoked_at, last_used_at, created_at)
		SELECT id, $2, $3, $4, $5, $6, $7 FROM accounts WHERE id = $1
		RETURNING id`,
		t.AccountID, t.Name, hash, t.ExpiresAt, t.RevokedAt, t.LastUsedAt, t.CreatedAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("account %d: %w", t.AccountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: creating token: %w", err)
	}
	t.ID = id
	return nil
}

// TokenByHash returns the token with this hash and its account, or
// ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*hookshot.Token, *hookshot.Account, error) {
	row := s.pool.QueryRow(ctx, `
		SELECT `+joinedAccountColumns+`,
			t.id, t.account_id, t.name, t.expires_at, t.revoked_at, t.last_used_at, t.created_at
		FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = $1`, hash)
	var t hookshot.Token
	a, err := scanAccount(row, &t.ID, &t.AccountID, &t.Name, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("token: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: reading token: %w", err)
	}
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = utcPtr(t.ExpiresAt), utcPtr(t.RevokedAt), utcPtr(t.LastUsedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, a, nil
}

// Tokens returns an account's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, accountID int64) ([]*hookshot.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing tokens of account %d: %w", accountID, err)
	}
	defer rows.Close()
	var out []*hookshot.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: listing tokens of account %d: %w", accountID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: listing tokens of account %d: %w", accountID, err)
	}
	return out, nil
}

// RevokeToken sets RevokedAt unless it is set already.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64, at time.Time) (*hookshot.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `
		UPDATE tokens SET revoked_at = coalesce(revoked_at, $3)
		WHERE id = $1 AND account_id = $2 RETURNING `+tokenColumns, id, accountID, columns.Stamp(at)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("token %d of account %d: %w", id, accountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: revoking token %d: %w", id, err)
	}
	return t, nil
}

// TouchToken sets a token's LastUsedAt.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, columns.Stamp(at), id); err != nil {
		return fmt.Errorf("postgres: touching token %d: %w", id, err)
	}
	return nil
}

// CreateSession inserts sess with its hash and sets its ID, and deletes
// the sessions that expired before sess.CreatedAt, in one transaction, as
// the SQLite store does: an unknown account leaves the table untouched.
// Returns ErrNotFound when the account does not exist.
func (s *Store) CreateSession(ctx context.Context, sess *hookshot.Session, hash []byte) error {
	sess.CreatedAt = columns.Stamp(sess.CreatedAt)
	sess.ExpiresAt = columns.Timestamp(sess.ExpiresAt)
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Before the insert, so that a session created already expired is
		// still there for SessionByHash to report.
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, sess.CreatedAt); err != nil {
			return fmt.Errorf("deleting expired sessions: %w", err)
		}
		return tx.QueryRow(ctx, `
			INSERT INTO sessions (account_id, hash, created_at, expires_at)
			SELECT id, $2, $3, $4 FROM accounts WHERE id = $1
			RETURNING id`,
			sess.AccountID, hash, sess.CreatedAt, sess.ExpiresAt).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("account %d: %w", sess.AccountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: creating session: %w", err)
	}
	sess.ID = id
	return nil
}

// SessionByHash returns the session with this hash and its account, or
// ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (*hookshot.Session, *hookshot.Account, error) {
	row := s.pool.QueryRow(ctx, `
		SELECT `+joinedAccountColumns+`,
			s.id, s.account_id, s.created_at, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = $1`, hash)
	var sess hookshot.Session
	a, err := scanAccount(row, &sess.ID, &sess.AccountID, &sess.CreatedAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("session: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: reading session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return &sess, a, nil
}

// DeleteSession removes the session with this hash, if there is one.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("postgres: deleting session: %w", err)
	}
	return nil
}

// AppendAudit inserts e and sets its ID.
func (s *Store) AppendAudit(ctx context.Context, e *hookshot.AuditEntry) error {
	e.At = columns.Stamp(e.At)
	var study *int64
	if e.StudyID != 0 {
		study = &e.StudyID
	}
	if err := s.pool.QueryRow(ctx, `
		INSERT INTO audit_log (at, actor, action, study_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id`, e.At, e.Actor, e.Action, study, e.Target, e.Detail).Scan(&e.ID); err != nil {
		return fmt.Errorf("postgres: appending audit entry: %w", err)
	}
	return nil
}

// Audit returns entries newest first.
func (s *Store) Audit(ctx context.Context, f hookshot.AuditFilter) ([]*hookshot.AuditEntry, error) {
	q := `SELECT id, at, actor, action, study_id, target, detail FROM audit_log WHERE true`
	var args []any
	if f.StudyID != 0 {
		args = append(args, f.StudyID)
		q += fmt.Sprintf(` AND study_id = $%d`, len(args))
	}
	if f.Before != 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: reading the audit trail: %w", err)
	}
	defer rows.Close()
	var out []*hookshot.AuditEntry
	for rows.Next() {
		var e hookshot.AuditEntry
		var study *int64
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &study, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("postgres: reading the audit trail: %w", err)
		}
		e.At = e.At.UTC()
		if study != nil {
			e.StudyID = *study
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: reading the audit trail: %w", err)
	}
	return out, nil
}
