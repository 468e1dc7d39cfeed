package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookshot/hookshot"
)

const accountColumns = `id, email, password_hash, admin, publish_all, publish, manage, created_at, updated_at`

// joinedAccountColumns are accountColumns of the table aliased "a", for
// reading an account beside the token or session that names it.
var joinedAccountColumns = Qualified("a", accountColumns)

const tokenColumns = `id, account_id, name, expires_at, revoked_at, last_used_at, created_at, roles`

func (s *Store) scanAccount(row Row, extra ...any) (*hookshot.Account, error) {
	var (
		a               hookshot.Account
		publish, manage []byte
	)
	dest := append([]any{&a.ID, &a.Email, &a.PasswordHash, &a.Admin, &a.PublishAll, &publish, &manage,
		s.e.ScanTime(&a.CreatedAt), s.e.ScanTime(&a.UpdatedAt)}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if a.Publish, err = decodeStudies(publish); err != nil {
		return nil, fmt.Errorf("account %d: publish: %w", a.ID, err)
	}
	if a.Manage, err = decodeStudies(manage); err != nil {
		return nil, fmt.Errorf("account %d: manage: %w", a.ID, err)
	}
	return &a, nil
}

// tokenDest are the Scan destinations of tokenColumns, into t and, for
// the roles' JSON, into roles (see decodeRoles).
func (s *Store) tokenDest(t *hookshot.Token, roles *[]byte) []any {
	return []any{&t.ID, &t.AccountID, &t.Name, s.e.ScanNullTime(&t.ExpiresAt), s.e.ScanNullTime(&t.RevokedAt),
		s.e.ScanNullTime(&t.LastUsedAt), s.e.ScanTime(&t.CreatedAt), roles}
}

// decodeRoles sets t.Roles from the roles column: NULL is nil, all of the
// account's roles.
func decodeRoles(t *hookshot.Token, raw []byte) error {
	if raw == nil {
		return nil
	}
	t.Roles = &hookshot.TokenRoles{}
	if err := json.Unmarshal(raw, t.Roles); err != nil {
		return fmt.Errorf("token %d: decoding roles: %w", t.ID, err)
	}
	return nil
}

// encodeRoles is the roles column's value: NULL for nil.
func encodeRoles(r *hookshot.TokenRoles) (any, error) {
	if r == nil {
		return nil, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding token roles: %w", err)
	}
	return string(b), nil
}

func (s *Store) scanToken(row Row) (*hookshot.Token, error) {
	var t hookshot.Token
	var roles []byte
	if err := row.Scan(s.tokenDest(&t, &roles)...); err != nil {
		return nil, err
	}
	if err := decodeRoles(&t, roles); err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateAccount inserts a, and e when it is not nil, in one transaction,
// and sets a's ID. Returns ErrConflict when the email is taken, compared
// by lower() (ASCII case on SQLite; the service lower-cases emails anyway).
func (s *Store) CreateAccount(ctx context.Context, a *hookshot.Account, e *hookshot.AuditEntry) error {
	a.CreatedAt = stamp(a.CreatedAt)
	a.UpdatedAt = stamp(a.UpdatedAt)
	var id int64
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		err := tx.QueryRow(ctx, `
			INSERT INTO accounts (email, password_hash, admin, publish_all, publish, manage, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			a.Email, a.PasswordHash, a.Admin, a.PublishAll, studies(a.Publish), studies(a.Manage),
			s.e.Time(a.CreatedAt), s.e.Time(a.UpdatedAt)).Scan(&id)
		if s.e.IsUniqueViolation(err) {
			return 0, fmt.Errorf("account %s: %w", a.Email, hookshot.ErrConflict)
		}
		return id, err
	})
	if err != nil {
		return s.fail(err, "creating account")
	}
	a.ID = id
	return nil
}

// Account returns one account, or ErrNotFound.
func (s *Store) Account(ctx context.Context, id int64) (*hookshot.Account, error) {
	a, err := s.scanAccount(s.e.Reader().QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %d: %w", id, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading account %d: %w", s.name, id, err)
	}
	return a, nil
}

// AccountByEmail returns the account with the email, compared by lower(),
// or ErrNotFound.
func (s *Store) AccountByEmail(ctx context.Context, email string) (*hookshot.Account, error) {
	a, err := s.scanAccount(s.e.Reader().QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE lower(email) = lower($1)`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", email, hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading account %s: %w", s.name, email, err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]*hookshot.Account, error) {
	rows, err := s.e.Reader().Query(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	out, err := collect(rows, err, func(r Rows) (*hookshot.Account, error) { return s.scanAccount(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: listing accounts: %w", s.name, err)
	}
	return out, nil
}

// UpdateAccount saves a's grants and UpdatedAt, and appends e when it is
// not nil, in one transaction, and reads back the rest.
func (s *Store) UpdateAccount(ctx context.Context, a *hookshot.Account, e *hookshot.AuditEntry) error {
	a.UpdatedAt = stamp(a.UpdatedAt)
	var got *hookshot.Account
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		var err error
		got, err = s.scanAccount(tx.QueryRow(ctx, `
			UPDATE accounts SET admin = $2, publish_all = $3, publish = $4, manage = $5, updated_at = $6
			WHERE id = $1 RETURNING `+accountColumns,
			a.ID, a.Admin, a.PublishAll, studies(a.Publish), studies(a.Manage), s.e.Time(a.UpdatedAt)))
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("account %d: %w", a.ID, hookshot.ErrNotFound)
		}
		return 0, err
	})
	if err != nil {
		return s.fail(err, "updating account %d", a.ID)
	}
	*a = *got
	return nil
}

// SetPassword replaces an account's password hash and deletes its
// sessions, and appends e when it is not nil, in one transaction: no
// session outlives the password it was signed in with.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string, at time.Time, e *hookshot.AuditEntry) error {
	return s.changeOne(ctx, e, fmt.Sprintf("account %d", id), func(tx Querier) (int64, error) {
		n, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3`,
			hash, s.e.Time(stamp(at)), id)
		if err != nil || n == 0 {
			return n, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id); err != nil {
			return 0, fmt.Errorf("deleting sessions: %w", err)
		}
		return n, nil
	})
}

// DeleteAccount removes an account, and appends e when it is not nil, in
// one transaction; its tokens and sessions go with it (ON DELETE CASCADE).
func (s *Store) DeleteAccount(ctx context.Context, id int64, e *hookshot.AuditEntry) error {
	return s.changeOne(ctx, e, fmt.Sprintf("account %d", id), func(tx Querier) (int64, error) {
		return tx.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id)
	})
}

// changeOne runs fn, which returns how many rows it changed, and appends e
// in one transaction. No row changed is ErrNotFound, for what.
func (s *Store) changeOne(ctx context.Context, e *hookshot.AuditEntry, what string, fn func(tx Querier) (int64, error)) error {
	err := s.change(ctx, e, func(tx Querier) (int64, error) {
		n, err := fn(tx)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("%s: %w", what, hookshot.ErrNotFound)
		}
		return 0, nil
	})
	if err != nil {
		return s.fail(err, "%s", what)
	}
	return nil
}

// CreateToken inserts t with its hash, and e when it is not nil, in one
// transaction, and sets t's ID. Returns ErrNotFound when the account does
// not exist.
func (s *Store) CreateToken(ctx context.Context, t *hookshot.Token, hash []byte, e *hookshot.AuditEntry) error {
	t.CreatedAt = stamp(t.CreatedAt)
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = timestampPtr(t.ExpiresAt), timestampPtr(t.RevokedAt), timestampPtr(t.LastUsedAt)
	roles, err := encodeRoles(t.Roles)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	var id int64
	err = s.change(ctx, e, func(tx Querier) (int64, error) {
		err := tx.QueryRow(ctx, `
			INSERT INTO tokens (account_id, name, hash, expires_at, revoked_at, last_used_at, created_at, roles)
			SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM accounts WHERE id = $1
			RETURNING id`,
			t.AccountID, t.Name, hash, s.e.NullTime(t.ExpiresAt), s.e.NullTime(t.RevokedAt), s.e.NullTime(t.LastUsedAt),
			s.e.Time(t.CreatedAt), roles).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("account %d: %w", t.AccountID, hookshot.ErrNotFound)
		}
		return id, err
	})
	if err != nil {
		return s.fail(err, "creating token")
	}
	t.ID = id
	return nil
}

// TokenByHash returns the token with this hash and its account, or
// ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*hookshot.Token, *hookshot.Account, error) {
	var t hookshot.Token
	var roles []byte
	a, err := s.scanAccount(s.e.Reader().QueryRow(ctx, `
		SELECT `+joinedAccountColumns+`, `+Qualified("t", tokenColumns)+`
		FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = $1`, hash), s.tokenDest(&t, &roles)...)
	if err == nil {
		err = decodeRoles(&t, roles)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("token: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading token: %w", s.name, err)
	}
	return &t, a, nil
}

// Tokens returns an account's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, accountID int64) ([]*hookshot.Token, error) {
	rows, err := s.e.Reader().Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE account_id = $1 ORDER BY id`, accountID)
	out, err := collect(rows, err, func(r Rows) (*hookshot.Token, error) { return s.scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: listing tokens of account %d: %w", s.name, accountID, err)
	}
	return out, nil
}

// RevokeToken sets RevokedAt unless it is set already. e, when it is not
// nil, is appended in the same transaction, and only when this call
// revoked the token: revoking it again changes nothing.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64, at time.Time, e *hookshot.AuditEntry) (*hookshot.Token, error) {
	var (
		tok     *hookshot.Token
		revoked bool
		saved   hookshot.AuditEntry
	)
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		var err error
		tok, err = s.scanToken(tx.QueryRow(ctx, `
			UPDATE tokens SET revoked_at = $3
			WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING `+tokenColumns,
			id, accountID, s.e.Time(stamp(at))))
		if errors.Is(err, sql.ErrNoRows) {
			// Revoked before, or not the account's.
			tok, err = s.scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1 AND account_id = $2`,
				id, accountID))
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("token %d of account %d: %w", id, accountID, hookshot.ErrNotFound)
			}
			return err
		}
		if err != nil {
			return err
		}
		revoked = true
		if e == nil {
			return nil
		}
		saved, err = s.insertAudit(ctx, tx, e, 0)
		return err
	})
	if err != nil {
		return nil, s.fail(err, "revoking token %d", id)
	}
	if revoked && e != nil {
		*e = saved
	}
	return tok, nil
}

// TouchToken sets a token's LastUsedAt.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, s.e.Time(stamp(at)), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: touching token %d: %w", s.name, id, err)
	}
	return nil
}

// CreateSession inserts sess with its hash and sets its ID, and deletes
// the sessions that expired before sess.CreatedAt, in one transaction: an
// unknown account leaves the table untouched. Returns ErrNotFound when the
// account does not exist.
func (s *Store) CreateSession(ctx context.Context, sess *hookshot.Session, hash []byte) error {
	sess.CreatedAt = stamp(sess.CreatedAt)
	sess.ExpiresAt = Timestamp(sess.ExpiresAt)
	var id int64
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		// Before the insert, so that a session created already expired is
		// still there for SessionByHash to report.
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, s.e.Time(sess.CreatedAt)); err != nil {
			return fmt.Errorf("deleting expired sessions: %w", err)
		}
		return tx.QueryRow(ctx, `
			INSERT INTO sessions (account_id, hash, created_at, expires_at)
			SELECT id, $2, $3, $4 FROM accounts WHERE id = $1
			RETURNING id`,
			sess.AccountID, hash, s.e.Time(sess.CreatedAt), s.e.Time(sess.ExpiresAt)).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %d: %w", sess.AccountID, hookshot.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: creating session: %w", s.name, err)
	}
	sess.ID = id
	return nil
}

// SessionByHash returns the session with this hash and its account, or
// ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (*hookshot.Session, *hookshot.Account, error) {
	var sess hookshot.Session
	a, err := s.scanAccount(s.e.Reader().QueryRow(ctx, `
		SELECT `+joinedAccountColumns+`, s.id, s.account_id, s.created_at, s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.hash = $1`, hash),
		&sess.ID, &sess.AccountID, s.e.ScanTime(&sess.CreatedAt), s.e.ScanTime(&sess.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("session: %w", hookshot.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading session: %w", s.name, err)
	}
	return &sess, a, nil
}

// DeleteSession removes the session with this hash, if there is one.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: deleting session: %w", s.name, err)
	}
	return nil
}
