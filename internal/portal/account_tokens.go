package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// tokenForm is the New token form of an account's page.
type tokenForm struct {
	formErrors
	Name    string
	Expires string // one of expiryChoices' values
}

type expiryChoice struct {
	Value, Label string
	in           time.Duration
}

// expiryChoices are the lifetimes the form offers, as GitHub's token form
// does; the API and the CLI take any.
var expiryChoices = []expiryChoice{
	{"30d", "30 days", 30 * 24 * time.Hour},
	{"90d", "90 days", 90 * 24 * time.Hour},
	{"365d", "1 year", 365 * 24 * time.Hour},
	{"never", "Never", 0},
}

func (s *Server) createAccountToken(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := s.accountPage(w, r, sess)
	if !ok {
		return
	}
	f := &tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Expires: r.PostFormValue("expires")}
	d.TokenForm = f
	var in time.Duration
	known := false
	for _, c := range expiryChoices {
		if c.Value == f.Expires {
			in, known = c.in, true
		}
	}
	if !known {
		f.add("expires", "Choose when the token expires.")
		s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
		return
	}
	tok, secret, err := s.svc.Accounts.CreateToken(r.Context(), sess.principal(), d.Account.ID, service.TokenInput{Name: f.Name, ExpiresIn: in})
	if err != nil {
		if f.set(err, "name") {
			s.renderAccount(w, r, sess, http.StatusUnprocessableEntity, d)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	// Rendered, not redirected to: the secret must not travel in a URL,
	// and it is not kept anywhere to be shown after a redirect. The page
	// is no-store, so going back does not bring it up again.
	d.Tokens = append(d.Tokens, tok)
	d.NewToken, d.NewSecret = tok, secret
	d.TokenForm = &tokenForm{}
	s.renderAccount(w, r, sess, http.StatusCreated, d)
}

func (s *Server) revokeAccountToken(w http.ResponseWriter, r *http.Request, sess *session) {
	id := pathID(r, "id")
	if _, err := s.svc.Accounts.RevokeToken(r.Context(), sess.principal(), id, pathID(r, "token")); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, accountPath(id), "token-revoked")
}

// tokenState says whether a token still works, for its badge.
func tokenState(t *hookshot.Token, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case !t.Usable(now):
		return "expired"
	}
	return "active"
}
