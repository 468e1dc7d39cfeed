package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/password"
)

// SessionTTL is how long a portal sign-in lasts. It is absolute, not
// renewed by activity, so a forgotten browser is signed out by the next
// working day.
const SessionTTL = 12 * time.Hour

// SessionPrefix starts every session secret, telling it apart from an API
// token in a leaked log or a secret scanner's findings.
const SessionPrefix = "hss_"

// Sessions signs accounts in to the portal with their email and password,
// and finds and ends their sessions. It is safe for concurrent use.
type Sessions struct {
	base
	accounts hookshot.AccountStore
	first    firstRun
}

// NewSessions returns the sessions service over store. A nil clk is the
// system clock.
func NewSessions(store hookshot.AccountStore, clk clock.Clock) *Sessions {
	return &Sessions{base: newBase(clk), accounts: store}
}

// SignIn checks an email and password and opens a portal session. It
// returns the account and the session's secret, which only the browser
// keeps; a wrong email or password is EUnauthorized, and the message does
// not say which of the two was wrong.
func (s *Sessions) SignIn(ctx context.Context, email, pw string) (*hookshot.Account, string, error) {
	a, ok, err := s.CheckPassword(ctx, email, pw)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", hookshot.Errorf(hookshot.EUnauthorized, "The email or the password is not right.")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := SessionPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := s.clock.Now()
	sess := &hookshot.Session{AccountID: a.ID, CreatedAt: t, ExpiresAt: t.Add(SessionTTL)}
	if err := s.accounts.CreateSession(ctx, sess, hashToken(secret)); err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// Account returns the account signed in by a session secret, with its
// grants as they are now. A secret that is unknown, signed out or expired
// is EUnauthorized.
func (s *Sessions) Account(ctx context.Context, secret string) (*hookshot.Account, error) {
	bad := hookshot.Errorf(hookshot.EUnauthorized, "Your session has ended; sign in again.")
	if !strings.HasPrefix(secret, SessionPrefix) {
		return nil, bad
	}
	sess, a, err := s.accounts.SessionByHash(ctx, hashToken(secret))
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !sess.Usable(s.clock.Now()) {
		return nil, bad
	}
	return a, nil
}

// SignOut ends the session; an unknown secret is not an error.
func (s *Sessions) SignOut(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, SessionPrefix) {
		return nil
	}
	return s.accounts.DeleteSession(ctx, hashToken(secret))
}

// CheckPassword reports whether password is the account's; false for an
// account without a password. It takes as long as a real check even when
// the email is unknown, so that it does not tell which emails exist.
func (s *Sessions) CheckPassword(ctx context.Context, email, pw string) (*hookshot.Account, bool, error) {
	a, err := s.accounts.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		_, _ = password.Verify(pw, dummyHash())
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	ok, err := password.Verify(pw, a.PasswordHash)
	if err != nil {
		return nil, false, fmt.Errorf("account %d: %w", a.ID, err)
	}
	return a, ok, nil
}

// dummyHash is verified against when there is no account, to spend the
// same time as a real check.
var dummyHash = sync.OnceValue(func() string {
	h, _ := password.Hash("no account has this password")
	return h
})
