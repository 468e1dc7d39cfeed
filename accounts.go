package hookshot

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrConflict is returned, wrapped, when a write would break a uniqueness
// rule: an account's email is already taken.
var ErrConflict = errors.New("conflict")

// Account is a person or a service that holds grants (SPEC §9). People log
// in to the portal with their email and password; services call the API
// with the account's tokens.
type Account struct {
	ID int64
	// Email is unique among accounts, compared without regard to case.
	Email string
	// PasswordHash is the encoded password hash (internal/password), empty
	// for an account that cannot log in. It is never rendered.
	PasswordHash string
	Admin        bool
	// PublishAll lets the account publish for every study; otherwise
	// Publish lists the studies it may publish for.
	PublishAll bool
	Publish    []int64
	// Manage lists the studies whose webhooks the account manages.
	Manage    []int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Principal returns the caller that the account's grants make.
func (a *Account) Principal() *Principal {
	return &Principal{
		Name:       AccountActor(a.ID, a.Email),
		AccountID:  a.ID,
		Admin:      a.Admin,
		PublishAll: a.PublishAll,
		Publish:    append([]int64(nil), a.Publish...),
		Manage:     append([]int64(nil), a.Manage...),
	}
}

// Token is an API token of an account. Only a SHA-256 hash of its secret
// is stored; the secret is shown once, when the token is created.
type Token struct {
	ID        int64
	AccountID int64
	Name      string
	ExpiresAt *time.Time // nil: never expires
	RevokedAt *time.Time // nil: not revoked
	// LastUsedAt is when the token last authenticated a request, to the
	// minute or so: it is not written on every request.
	LastUsedAt *time.Time
	CreatedAt  time.Time
	// Roles, when not nil, narrows the token to these roles: it acts with
	// those of them that its account holds at each request (Principal).
	// Nil: all of its account's roles.
	Roles *TokenRoles
}

// TokenRoles are the roles a token is narrowed to, in the shape of an
// account's grants.
type TokenRoles struct {
	Admin      bool    `json:"admin"`
	PublishAll bool    `json:"publish_all"`
	Publish    []int64 `json:"publish"`
	Manage     []int64 `json:"manage"`
}

// Principal returns the caller that a token of account a makes: the
// account's roles, narrowed by the token's Roles when it has them, so a
// token never acts with more than its account holds now.
func (t *Token) Principal(a *Account) *Principal {
	p := a.Principal()
	r := t.Roles
	if r == nil {
		return p
	}
	out := &Principal{Name: p.Name, AccountID: p.AccountID, Admin: r.Admin && p.Admin, PublishAll: r.PublishAll && (p.Admin || p.PublishAll)}
	for _, id := range r.Publish {
		if p.CanPublish(id) {
			out.Publish = append(out.Publish, id)
		}
	}
	for _, id := range r.Manage {
		if p.CanManage(id) {
			out.Manage = append(out.Manage, id)
		}
	}
	return out
}

// Usable reports whether the token may authenticate a request at now: it
// is neither revoked nor expired.
func (t *Token) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Session is an account's sign-in to the web portal. Only a SHA-256 hash
// of its secret is stored; the secret lives in the browser's cookie, so a
// copy of the database cannot sign anyone in.
type Session struct {
	ID        int64
	AccountID int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Usable reports whether the session may sign a request in at now.
func (s *Session) Usable(now time.Time) bool { return now.Before(s.ExpiresAt) }

// Audit actions: what was done to the target.
const (
	AuditCreated   = "created"
	AuditChanged   = "changed"
	AuditValidated = "validated" // a validation request was started
	AuditEnabled   = "enabled"
	AuditDisabled  = "disabled"
	AuditResent    = "resent"
	AuditTested    = "tested" // a test event was sent
	AuditDeleted   = "deleted"
	AuditRevoked   = "revoked"
	AuditPassword  = "password_set"
)

// AuditActions are every Action an audit entry may have, for filters to
// offer and check; a test keeps it in step with the constants.
var AuditActions = []string{AuditCreated, AuditChanged, AuditValidated, AuditEnabled, AuditDisabled, AuditResent, AuditTested,
	AuditDeleted, AuditRevoked, AuditPassword, AuditSecretRotated, AuditSigningKeyRotated, AuditRecovered, AuditReplayed}

// AuditNewID stands, in the Target of an audit entry given to a method
// that creates something, for the id of the row it creates, which the
// caller cannot know yet: "webhook {id}", "token {id} of account 3". The
// store puts the id in its place.
const AuditNewID = "{id}"

// AuditEntry records who did what to which thing, and when.
//
// An entry that describes a change of ours is given to the Store or
// AccountStore method that makes the change, which writes both in one
// transaction: a change is never saved without its entry, nor an entry
// without its change. AppendAudit is for entries that describe no change
// the store makes.
type AuditEntry struct {
	ID int64
	// At is when it was done; a zero At is filled with the current time.
	At time.Time
	// Actor is the Principal's Name, e.g. "account:3 alice@example.org",
	// "admin-token" or "cli:root".
	Actor  string
	Action string
	// StudyID is the study the target belongs to; 0 for targets outside
	// studies (accounts, tokens).
	StudyID int64
	// Target names the thing acted on, e.g. "webhook 74",
	// "delivery 0190a6a4-...", "account 3", "token 5 of account 3". Given
	// to a method that creates the thing, it may name it by AuditNewID.
	Target string
	// Detail says more, e.g. which fields changed. Never a secret.
	Detail string
}

// AuditFilter selects a page of the audit trail, newest first.
type AuditFilter struct {
	StudyID int64 // 0 for every study and none
	// Actor, when not "", keeps the entries whose Actor contains it,
	// without regard to case: "alice@example.org" finds
	// "account:3 alice@example.org".
	Actor string
	// Action, when not "", keeps the entries with exactly this Action.
	Action string
	// Before, when not 0, starts the page after the entry with this ID
	// (exclusive).
	Before int64
	Limit  int // 0 for no limit
}

// AccountActor is the Principal and audit name of an account.
func AccountActor(id int64, email string) string {
	return "account:" + strconv.FormatInt(id, 10) + " " + email
}

// AccountStore keeps accounts, their API tokens and the audit trail. It is
// separate from Store so that the delivery engine does not depend on it;
// both stores implement it. Every method is safe for concurrent use.
//
// Methods return ErrNotFound (wrapped) when the thing they address does not
// exist, ErrConflict (wrapped) where noted, and other errors only for
// failures of the store itself. Those that take an audit entry e (nil for
// none) write it in the change's own transaction, as Store's do: when the
// entry cannot be written, the call fails and changes nothing, and a call
// that returns ErrNotFound or ErrConflict writes no entry.
type AccountStore interface {
	// CreateAccount inserts a with its PasswordHash, and e, and sets a's
	// ID; e's Target may name the new account by AuditNewID. A zero
	// CreatedAt or UpdatedAt is filled with the current time. Returns
	// ErrConflict when another account has the same email, compared
	// without regard to (ASCII) case.
	CreateAccount(ctx context.Context, a *Account, e *AuditEntry) error
	// Account returns one account, or ErrNotFound.
	Account(ctx context.Context, id int64) (*Account, error)
	// AccountByEmail returns the account with the email, compared without
	// regard to case, or ErrNotFound.
	AccountByEmail(ctx context.Context, email string) (*Account, error)
	// Accounts returns every account, oldest first.
	Accounts(ctx context.Context) ([]*Account, error)
	// UpdateAccount saves a's grants (Admin, PublishAll, Publish, Manage)
	// and UpdatedAt, filling a zero UpdatedAt with the current time, and
	// e, and sets a's other fields to the stored ones. Returns ErrNotFound.
	UpdateAccount(ctx context.Context, a *Account, e *AuditEntry) error
	// SetPassword replaces an account's password hash ("" removes it) and
	// deletes the account's portal sessions, and appends e: a new password
	// signs the account out everywhere.
	// Returns ErrNotFound.
	SetPassword(ctx context.Context, id int64, hash string, at time.Time, e *AuditEntry) error
	// DeleteAccount removes an account, its tokens and its sessions, and
	// appends e; its audit entries stay. Returns ErrNotFound.
	DeleteAccount(ctx context.Context, id int64, e *AuditEntry) error

	// CreateToken inserts t with the SHA-256 hash of its secret, and e,
	// and sets t's ID; e's Target may name the new token by AuditNewID. A
	// zero CreatedAt is filled with the current time. Returns ErrNotFound
	// when the account does not exist.
	CreateToken(ctx context.Context, t *Token, hash []byte, e *AuditEntry) error
	// TokenByHash returns the token with this hash and its account, or
	// ErrNotFound. It returns revoked and expired tokens too: the caller
	// decides (Token.Usable).
	TokenByHash(ctx context.Context, hash []byte) (*Token, *Account, error)
	// Tokens returns an account's tokens, oldest first; none when the
	// account does not exist.
	Tokens(ctx context.Context, accountID int64) ([]*Token, error)
	// RevokeToken sets a token's RevokedAt to at, unless it was revoked
	// already, and returns the token. e is appended only when this call
	// revoked the token: revoking it again changes nothing. Returns
	// ErrNotFound when the token does not belong to the account.
	RevokeToken(ctx context.Context, accountID, id int64, at time.Time, e *AuditEntry) (*Token, error)
	// TouchToken sets a token's LastUsedAt. A token that does not exist
	// (deleted meanwhile) is not an error.
	TouchToken(ctx context.Context, id int64, at time.Time) error

	// CreateSession inserts s with the SHA-256 hash of its secret and sets
	// its ID; a zero CreatedAt is filled with the current time. It also
	// deletes every session that expired before s.CreatedAt, so the table
	// does not grow without bound. Returns ErrNotFound when the account
	// does not exist.
	CreateSession(ctx context.Context, s *Session, hash []byte) error
	// SessionByHash returns the session with this hash and its account, or
	// ErrNotFound. It returns expired sessions too: the caller decides
	// (Session.Usable).
	SessionByHash(ctx context.Context, hash []byte) (*Session, *Account, error)
	// DeleteSession removes the session with this hash. One that does not
	// exist is not an error: signing out twice is fine.
	DeleteSession(ctx context.Context, hash []byte) error

	// AppendAudit inserts e, an entry that describes no change the store
	// makes, and sets its ID; a zero At is filled with the current time. IDs grow
	// with every entry.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// Audit returns entries newest first (by ID), as f selects them.
	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}
