package service

import (
	"context"
	"sync"
	"time"
)

// signInCheckFresh is how long "someone can sign in" is believed once
// seen: the sign-in page needs no account list on every view, and it is
// rare for the last password to go.
const signInCheckFresh = time.Minute

// firstRun remembers when an account with a password was last seen.
type firstRun struct {
	mu   sync.Mutex
	seen time.Time // on the machine's monotonic clock
}

// NobodyCanSignIn reports whether no account has a password yet, as on
// the first run, so the sign-in page can say how to make the first one.
// It fails only when the store does.
func (s *Sessions) NobodyCanSignIn(ctx context.Context) (bool, error) {
	s.first.mu.Lock()
	defer s.first.mu.Unlock()
	if !s.first.seen.IsZero() && time.Since(s.first.seen) < signInCheckFresh {
		return false, nil
	}
	accounts, err := s.accounts.Accounts(ctx)
	if err != nil {
		return false, err
	}
	for _, a := range accounts {
		if a.PasswordHash != "" {
			s.first.seen = time.Now()
			return false, nil
		}
	}
	return true, nil
}
