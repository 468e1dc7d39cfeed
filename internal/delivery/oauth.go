package delivery

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/hookshot/hookshot"
)

// tokenCache keeps one OAuth2 access token per webhook until shortly before
// it expires, so a busy webhook costs one token request, not one per
// attempt. A webhook edit (a newer UpdatedAt) starts afresh.
type tokenCache struct {
	client *http.Client

	mu      sync.Mutex
	entries map[int64]*tokenEntry
}

type tokenEntry struct {
	mu      sync.Mutex // held while fetching, so concurrent attempts share one request
	version time.Time
	token   *oauth2.Token
}

// expiryMargin is how long before its expiry a token is treated as expired,
// so it doesn't run out between the check and the receiver's check.
const expiryMargin = 30 * time.Second

func newTokenCache(client *http.Client) *tokenCache {
	return &tokenCache{client: client, entries: make(map[int64]*tokenEntry)}
}

// token returns an access token for w and whether it came from the cache
// (a 401 is then worth one fresh token).
func (c *tokenCache) token(ctx context.Context, w *hookshot.Webhook, creds hookshot.Credentials) (string, bool, error) {
	c.mu.Lock()
	e, ok := c.entries[w.ID]
	// Only a newer edit starts afresh: a publish hands the engine webhooks
	// from its routing cache, whose UpdatedAt may lag behind a claim's
	// (RoutingWebhooks), and alternating between the two must not fetch
	// a token for every attempt. Every edit that changes the credentials
	// also refreshes that cache.
	if !ok || w.UpdatedAt.After(e.version) {
		e = &tokenEntry{version: w.UpdatedAt}
		c.entries[w.ID] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	// Against the machine's clock, not the engine's: x/oauth2 sets Expiry
	// from the machine's clock when the token arrives.
	if e.token != nil && (e.token.Expiry.IsZero() || time.Until(e.token.Expiry) > expiryMargin) {
		return e.token.AccessToken, true, nil
	}
	cfg := clientcredentials.Config{
		ClientID:     w.Auth.ClientID,
		ClientSecret: creds.ClientSecret,
		TokenURL:     w.Auth.TokenURL,
	}
	if w.Auth.Scope != "" {
		cfg.Scopes = []string{w.Auth.Scope}
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, c.client))
	if err != nil {
		// The sender phrases it (describeTokenFailure): the endpoint's
		// whole answer, which this error carries, must not be stored.
		return "", false, err
	}
	e.token = tok
	return tok.AccessToken, false, nil
}

// forget drops w's cached token after the receiver refused it.
func (c *tokenCache) forget(webhookID int64) {
	c.mu.Lock()
	delete(c.entries, webhookID)
	c.mu.Unlock()
}
