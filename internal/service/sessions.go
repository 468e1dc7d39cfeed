package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// SessionTTL is how long a portal sign-in lasts. It is absolute, not
// renewed by activity, so a forgotten browser is signed out by the next
// working day.
const SessionTTL = 12 * time.Hour

// SessionPrefix starts every session secret, telling it apart from an API
// token in a leaked log or a secret scanner's findings.
const SessionPrefix = "hss_"

// SignIn checks an email and password and opens a portal session. It
// returns the account and the session's secret, which only the browser
// keeps; a wrong email or password is EUnauthorized, and the message does
// not say which of the two was wrong.
func (s *Service) SignIn(ctx context.Context, email, pw string) (*hookshot.Account, string, error) {
	as, err := s.accountStore()
	if err != nil {
		return nil, "", err
	}
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
	t := now()
	sess := &hookshot.Session{AccountID: a.ID, CreatedAt: t, ExpiresAt: t.Add(SessionTTL)}
	if err := as.CreateSession(ctx, sess, hashToken(secret)); err != nil {
		return nil, "", err
	}
	return a, secret, nil
}

// SessionAccount returns the account signed in by a session secret, with
// its grants as they are now. A secret that is unknown, signed out or
// expired is EUnauthorized.
func (s *Service) SessionAccount(ctx context.Context, secret string) (*hookshot.Account, error) {
	bad := hookshot.Errorf(hookshot.EUnauthorized, "Your session has ended; sign in again.")
	if !strings.HasPrefix(secret, SessionPrefix) || s.accounts == nil {
		return nil, bad
	}
	sess, a, err := s.accounts.SessionByHash(ctx, hashToken(secret))
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !sess.Usable(now()) {
		return nil, bad
	}
	return a, nil
}

// SignOut ends the session; an unknown secret is not an error.
func (s *Service) SignOut(ctx context.Context, secret string) error {
	if !strings.HasPrefix(secret, SessionPrefix) || s.accounts == nil {
		return nil
	}
	return s.accounts.DeleteSession(ctx, hashToken(secret))
}
