package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/password"
)

// TokenPrefix starts every API token, so that a token is recognisable in a
// secret scanner's findings and a mistyped one is refused without a
// database read.
const TokenPrefix = "hst_"

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 12

// touchEvery bounds how often a token's LastUsedAt is written: not on every
// request, which would make every API call a write.
const touchEvery = time.Minute

// AccountInput creates an account. An empty Password makes an account that
// cannot log in to the portal (a service that only uses tokens).
type AccountInput struct {
	Email      string
	Password   string
	Admin      bool
	PublishAll bool
	Publish    []int64
	Manage     []int64
}

// AccountPatch changes an account: nil fields stay as they are. The study
// lists replace the stored ones. A Password of "" removes the password.
type AccountPatch struct {
	Admin      *bool
	PublishAll *bool
	Publish    *[]int64
	Manage     *[]int64
	Password   *string
}

// TokenInput creates an API token. It expires at ExpiresAt, or ExpiresIn
// from now, or (both unset) never; setting both is EInvalid.
type TokenInput struct {
	Name      string
	ExpiresAt *time.Time
	ExpiresIn time.Duration
	// Roles, when not nil, narrows the token to some of the roles its
	// account holds (see hookshot.Token.Roles).
	Roles *hookshot.TokenRoles
}

// AuditQuery selects a page of the audit trail.
type AuditQuery struct {
	StudyID int64  // 0 for all
	Actor   string // a part of the actor's name, e.g. an email; "" for all
	Action  string // one of hookshot.AuditActions; "" for all
	Cursor  string // next_cursor of the previous page
	Limit   int    // default 50, at most MaxPageSize
}

// Accounts administers accounts and their API tokens and shows the audit
// trail, for admins, and turns API tokens into callers. It is safe for
// concurrent use.
type Accounts struct {
	base
	accounts hookshot.AccountStore
}

// NewAccounts returns the accounts service over store. A nil clk is the
// system clock.
func NewAccounts(store hookshot.AccountStore, clk clock.Clock) *Accounts {
	return &Accounts{base: newBase(clk), accounts: store}
}

// Authenticate turns an API token into the Principal of its account, with
// the account's grants as they are now. Unknown, revoked and expired
// tokens are EUnauthorized.
func (s *Accounts) Authenticate(ctx context.Context, token string) (*hookshot.Principal, error) {
	bad := hookshot.Errorf(hookshot.EUnauthorized, "The bearer token is not valid.")
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, bad
	}
	tok, acc, err := s.accounts.TokenByHash(ctx, hashToken(token))
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	t := s.clock.Now()
	switch {
	case tok.RevokedAt != nil:
		return nil, hookshot.Errorf(hookshot.EUnauthorized, "The bearer token was revoked; ask an administrator for a new one.")
	case !tok.Usable(t):
		return nil, hookshot.Errorf(hookshot.EUnauthorized, "The bearer token expired at %s; ask an administrator for a new one.", tok.ExpiresAt.Format(time.RFC3339))
	}
	if tok.LastUsedAt == nil || t.Sub(*tok.LastUsedAt) >= touchEvery {
		// Best effort: a failed write must not refuse a valid token.
		_ = s.accounts.TouchToken(ctx, tok.ID, t)
	}
	return tok.Principal(acc), nil
}

// hashToken is what the store keeps of a token: tokens are 256 random
// bits, so a fast hash is enough; a slow one would only slow every call.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// List returns every account, oldest first.
func (s *Accounts) List(ctx context.Context, p *hookshot.Principal) ([]*hookshot.Account, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	return s.accounts.Accounts(ctx)
}

// Get returns one account, or ENotFound.
func (s *Accounts) Get(ctx context.Context, p *hookshot.Principal, id int64) (*hookshot.Account, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	return s.account(ctx, id)
}

// account is Get for a caller already checked.
func (s *Accounts) account(ctx context.Context, id int64) (*hookshot.Account, error) {
	a, err := s.accounts.Account(ctx, id)
	if err != nil {
		return nil, notFound(err, "Account %d does not exist.", id)
	}
	return a, nil
}

// ByEmail returns the account with the email, compared without regard to
// case, or ENotFound.
func (s *Accounts) ByEmail(ctx context.Context, p *hookshot.Principal, email string) (*hookshot.Account, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	a, err := s.accounts.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, notFound(err, "There is no account with the email %s.", email)
	}
	return a, nil
}

// Create checks in and creates the account, its password hashed. Emails
// are kept in lower case; one that is taken is EConflict. Bad input is
// EInvalid and creates nothing.
func (s *Accounts) Create(ctx context.Context, p *hookshot.Principal, in AccountInput) (*hookshot.Account, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	email, problems := checkEmail(in.Email)
	if in.Password != "" {
		problems = append(problems, checkPassword(in.Password)...)
	}
	publish, pr := checkStudies("publish", in.Publish)
	problems = append(problems, pr...)
	manage, pr := checkStudies("manage", in.Manage)
	problems = append(problems, pr...)
	if len(problems) > 0 {
		return nil, hookshot.Invalid("The account was not created: "+summary(problems), problems...)
	}
	a := &hookshot.Account{Email: email, Admin: in.Admin, PublishAll: in.PublishAll, Publish: publish, Manage: manage}
	if in.Password != "" {
		var err error
		if a.PasswordHash, err = password.Hash(in.Password); err != nil {
			return nil, err
		}
	}
	a.CreatedAt = s.clock.Now()
	a.UpdatedAt = a.CreatedAt
	detail := "email " + email + "; " + grants(a)
	if a.PasswordHash != "" {
		detail += "; with a password"
	}
	e := s.entry(p, hookshot.AuditCreated, 0, "account "+hookshot.AuditNewID, detail)
	if err := s.accounts.CreateAccount(ctx, a, e); err != nil {
		if errors.Is(err, hookshot.ErrConflict) {
			return nil, &hookshot.Error{Code: hookshot.EConflict, Message: fmt.Sprintf("An account with the email %s exists already.", email),
				FieldErrors: []hookshot.FieldError{{Field: "email", Message: "is taken by another account"}}}
		}
		return nil, err
	}
	return a, nil
}

// Update applies a patch to an account's grants and password. Bad input
// is EInvalid and changes nothing; an unknown account is ENotFound.
func (s *Accounts) Update(ctx context.Context, p *hookshot.Principal, id int64, patch AccountPatch) (*hookshot.Account, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	a, err := s.account(ctx, id)
	if err != nil {
		return nil, err
	}
	var problems []hookshot.FieldError
	if patch.Publish != nil {
		var pr []hookshot.FieldError
		a.Publish, pr = checkStudies("publish", *patch.Publish)
		problems = append(problems, pr...)
	}
	if patch.Manage != nil {
		var pr []hookshot.FieldError
		a.Manage, pr = checkStudies("manage", *patch.Manage)
		problems = append(problems, pr...)
	}
	if patch.Password != nil && *patch.Password != "" {
		problems = append(problems, checkPassword(*patch.Password)...)
	}
	if len(problems) > 0 {
		return nil, hookshot.Invalid("The account was not changed: "+summary(problems), problems...)
	}
	if patch.Admin != nil {
		a.Admin = *patch.Admin
	}
	if patch.PublishAll != nil {
		a.PublishAll = *patch.PublishAll
	}
	t := s.clock.Now()
	if patch.Admin != nil || patch.PublishAll != nil || patch.Publish != nil || patch.Manage != nil {
		a.UpdatedAt = t
		if err := s.accounts.UpdateAccount(ctx, a, s.entry(p, hookshot.AuditChanged, 0, accountTarget(id), grants(a))); err != nil {
			return nil, notFound(err, "Account %d does not exist.", id)
		}
	}
	if patch.Password != nil {
		hash := ""
		if *patch.Password != "" {
			if hash, err = password.Hash(*patch.Password); err != nil {
				return nil, err
			}
		}
		detail := "password set"
		if hash == "" {
			detail = "password removed"
		}
		if err := s.accounts.SetPassword(ctx, id, hash, t, s.entry(p, hookshot.AuditPassword, 0, accountTarget(id), detail)); err != nil {
			return nil, notFound(err, "Account %d does not exist.", id)
		}
		a.PasswordHash, a.UpdatedAt = hash, t
	}
	return a, nil
}

// Delete removes an account, its tokens and its sessions, or is
// ENotFound. Its audit entries stay.
func (s *Accounts) Delete(ctx context.Context, p *hookshot.Principal, id int64) error {
	if err := mayAdminister(p); err != nil {
		return err
	}
	a, err := s.account(ctx, id)
	if err != nil {
		return err
	}
	if err := s.accounts.DeleteAccount(ctx, id, s.entry(p, hookshot.AuditDeleted, 0, accountTarget(id), "email "+a.Email)); err != nil {
		return notFound(err, "Account %d does not exist.", id)
	}
	return nil
}

// CreateToken creates an API token for an account and returns it with its
// secret, which is not kept and cannot be shown again. Bad input is
// EInvalid; an unknown account is ENotFound.
func (s *Accounts) CreateToken(ctx context.Context, p *hookshot.Principal, accountID int64, in TokenInput) (*hookshot.Token, string, error) {
	if err := mayAdminister(p); err != nil {
		return nil, "", err
	}
	return s.createToken(ctx, p, accountID, in, nil)
}

// createToken is CreateToken for a caller already checked.
// The token's Roles must lie within bound, or within the account's roles
// when bound is nil.
func (s *Accounts) createToken(ctx context.Context, p *hookshot.Principal, accountID int64, in TokenInput, bound *hookshot.Principal) (*hookshot.Token, string, error) {
	t := s.clock.Now()
	switch {
	case in.ExpiresIn != 0 && in.ExpiresAt != nil:
		return nil, "", hookshot.Invalid("Give expires_at or expires_in, not both.", hookshot.FieldError{Field: "expires_in", Message: "cannot be given with expires_at"})
	case in.ExpiresIn < 0:
		return nil, "", hookshot.Invalid("expires_in must be a positive duration such as 720h.", hookshot.FieldError{Field: "expires_in", Message: "must be a positive duration such as 720h"})
	case in.ExpiresIn > 0:
		at := t.Add(in.ExpiresIn)
		in.ExpiresAt = &at
	}
	var problems []hookshot.FieldError
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		problems = append(problems, hookshot.FieldError{Field: "name", Message: "is required: what the token is for, e.g. \"upload pipeline\""})
	case len(name) > 100 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		problems = append(problems, hookshot.FieldError{Field: "name", Message: "must be at most 100 printable characters"})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(t) {
		problems = append(problems, hookshot.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	if in.Roles != nil {
		var pr []hookshot.FieldError
		roles := *in.Roles
		roles.Publish, pr = checkStudies("roles.publish", roles.Publish)
		problems = append(problems, pr...)
		roles.Manage, pr = checkStudies("roles.manage", roles.Manage)
		problems = append(problems, pr...)
		in.Roles = &roles
	}
	if len(problems) > 0 {
		return nil, "", hookshot.Invalid("The token was not created: "+summary(problems), problems...)
	}
	acc, err := s.account(ctx, accountID)
	if err != nil {
		return nil, "", err
	}
	if bound == nil {
		bound = acc.Principal()
	}
	if in.Roles != nil {
		if err := withinRoles(*in.Roles, bound); err != nil {
			return nil, "", err
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("reading random token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	tok := &hookshot.Token{AccountID: accountID, Name: name, CreatedAt: t, Roles: in.Roles}
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		tok.ExpiresAt = &e
	}
	detail := "name " + strconv.Quote(name)
	if tok.ExpiresAt != nil {
		detail += "; expires " + tok.ExpiresAt.Format(time.RFC3339)
	}
	if r := tok.Roles; r != nil {
		detail += fmt.Sprintf("; roles admin=%t publish_all=%t publish=%v manage=%v", r.Admin, r.PublishAll, studies(r.Publish), studies(r.Manage))
	}
	e := s.entry(p, hookshot.AuditCreated, 0, tokenTarget(accountID, hookshot.AuditNewID), detail)
	if err := s.accounts.CreateToken(ctx, tok, hashToken(secret), e); err != nil {
		return nil, "", notFound(err, "Account %d does not exist.", accountID)
	}
	return tok, secret, nil
}

// Tokens lists an account's tokens, oldest first, or is ENotFound.
func (s *Accounts) Tokens(ctx context.Context, p *hookshot.Principal, accountID int64) ([]*hookshot.Token, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	if _, err := s.account(ctx, accountID); err != nil {
		return nil, err
	}
	return s.accounts.Tokens(ctx, accountID)
}

// RevokeToken revokes one of an account's tokens; it stops working at
// once. Revoking a revoked token changes nothing. A token that is not the
// account's is ENotFound.
func (s *Accounts) RevokeToken(ctx context.Context, p *hookshot.Principal, accountID, id int64) (*hookshot.Token, error) {
	if err := mayAdminister(p); err != nil {
		return nil, err
	}
	return s.revokeToken(ctx, p, accountID, id)
}

// revokeToken is RevokeToken for a caller already checked.
func (s *Accounts) revokeToken(ctx context.Context, p *hookshot.Principal, accountID, id int64) (*hookshot.Token, error) {
	// The entry, which goes in with the change, names the token; tokens
	// are never renamed.
	tokens, err := s.accounts.Tokens(ctx, accountID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(tokens, func(t *hookshot.Token) bool { return t.ID == id })
	if i < 0 {
		return nil, hookshot.Errorf(hookshot.ENotFound, "Token %d does not exist for account %d.", id, accountID)
	}
	e := s.entry(p, hookshot.AuditRevoked, 0, tokenTarget(accountID, strconv.FormatInt(id, 10)), "name "+strconv.Quote(tokens[i].Name))
	tok, err := s.accounts.RevokeToken(ctx, accountID, id, s.clock.Now(), e)
	if err != nil {
		return nil, notFound(err, "Token %d does not exist for account %d.", id, accountID)
	}
	return tok, nil
}

// Audit returns a page of the audit trail, newest first, and the cursor
// of the next page ("" on the last). A cursor this method did not give out
// is EMalformed.
func (s *Accounts) Audit(ctx context.Context, p *hookshot.Principal, q AuditQuery) ([]*hookshot.AuditEntry, string, error) {
	if err := mayAdminister(p); err != nil {
		return nil, "", err
	}
	f := hookshot.AuditFilter{StudyID: q.StudyID, Actor: strings.TrimSpace(q.Actor), Action: q.Action, Limit: q.Limit}
	if f.Action != "" && !slices.Contains(hookshot.AuditActions, f.Action) {
		return nil, "", &hookshot.Error{Code: hookshot.EMalformed, Message: fmt.Sprintf("action %q is not an audit action; use one of %s.", f.Action, strings.Join(hookshot.AuditActions, ", ")),
			FieldErrors: []hookshot.FieldError{{Field: "action", Message: "must be one of " + strings.Join(hookshot.AuditActions, ", ")}}}
	}
	if !utf8.ValidString(f.Actor) || strings.IndexFunc(f.Actor, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		// PostgreSQL would refuse such bytes as a failure, not as no match.
		return nil, "", &hookshot.Error{Code: hookshot.EMalformed, Message: "actor must be printable UTF-8 text, such as an email.",
			FieldErrors: []hookshot.FieldError{{Field: "actor", Message: "must be printable UTF-8 text"}}}
	}
	if len(f.Actor) > maxActorFilter {
		return nil, "", &hookshot.Error{Code: hookshot.EMalformed, Message: fmt.Sprintf("actor is longer than %d characters; give a part of the actor's name, such as an email.", maxActorFilter),
			FieldErrors: []hookshot.FieldError{{Field: "actor", Message: fmt.Sprintf("must be at most %d characters", maxActorFilter)}}}
	}
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	f.Limit = min(f.Limit, MaxPageSize)
	if q.Cursor != "" {
		n, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, "", &hookshot.Error{Code: hookshot.EMalformed, Message: "cursor is not one that this endpoint gave out; use next_cursor of the previous page.",
				FieldErrors: []hookshot.FieldError{{Field: "cursor", Message: "is not a cursor of this list"}}}
		}
		f.Before = n
	}
	// One more than asked tells whether there is a next page.
	want := f.Limit
	f.Limit++
	entries, err := s.accounts.Audit(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(entries) > want {
		entries = entries[:want]
		next = strconv.FormatInt(entries[want-1].ID, 10)
	}
	return entries, next, nil
}

// maxActorFilter bounds the actor filter: an actor is "account:N " and an
// email of at most 254 characters.
const maxActorFilter = 300

func accountTarget(id int64) string { return fmt.Sprintf("account %d", id) }

// tokenTarget names a token of an account; id is a number or
// hookshot.AuditNewID.
func tokenTarget(accountID int64, id string) string {
	return fmt.Sprintf("token %s of account %d", id, accountID)
}

// grants describes an account's grants for the audit trail.
func grants(a *hookshot.Account) string {
	return fmt.Sprintf("admin=%t publish_all=%t publish=%v manage=%v", a.Admin, a.PublishAll, studies(a.Publish), studies(a.Manage))
}

func studies(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// checkEmail returns the email in lower case, or what is wrong with it.
func checkEmail(raw string) (string, []hookshot.FieldError) {
	email := strings.ToLower(strings.TrimSpace(raw))
	bad := func(msg string) (string, []hookshot.FieldError) {
		return "", []hookshot.FieldError{{Field: "email", Message: msg}}
	}
	if email == "" {
		return bad("is required: the address the person or service is known by, e.g. alice@example.org")
	}
	if !utf8.ValidString(raw) {
		// Checked on what was sent: ToLower has already made U+FFFD of
		// the bad bytes in email.
		return bad("must be UTF-8 text")
	}
	if len(email) > 254 {
		return bad("is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email, "@") {
		return bad("is not an email address such as alice@example.org (no display name, no angle brackets)")
	}
	return email, nil
}

func checkPassword(pw string) []hookshot.FieldError {
	if n := len([]rune(pw)); n < MinPasswordLength {
		return []hookshot.FieldError{{Field: "password", Message: fmt.Sprintf("must be at least %d characters long", MinPasswordLength)}}
	}
	if len(pw) > password.MaxLength {
		return []hookshot.FieldError{{Field: "password", Message: fmt.Sprintf("must be at most %d bytes long", password.MaxLength)}}
	}
	return nil
}

// checkStudies returns the study ids sorted without duplicates, or which
// of them is not a study id.
func checkStudies(field string, ids []int64) ([]int64, []hookshot.FieldError) {
	var problems []hookshot.FieldError
	var out []int64
	for i, id := range ids {
		if id <= 0 {
			problems = append(problems, hookshot.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Message: "is not a study id: study ids are positive integers"})
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return slices.Compact(out), problems
}
