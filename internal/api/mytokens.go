package api

import (
	"net/http"
	"strconv"

	"github.com/hookshot/hookshot"
)

// The caller's own tokens (SPEC §15): /v1/me/tokens mirrors an admin's
// /v1/accounts/{id}/tokens for the account behind the caller's token.

func (s *Server) listMyTokens(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	tokens, err := s.svc.Accounts.MyTokens(r.Context(), p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	items := make([]tokenJSON, len(tokens))
	for i, t := range tokens {
		items[i] = renderToken(t)
	}
	writeJSON(w, http.StatusOK, list(items, ""))
}

func (s *Server) createMyToken(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	var req tokenRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	in, err := req.input()
	if err != nil {
		s.problem(w, r, err)
		return
	}
	tok, secret, err := s.svc.Accounts.CreateMyToken(r.Context(), p, in)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("token created", "account_id", tok.AccountID, "token_id", tok.ID, "by", p.Name)
	out := renderToken(tok)
	out.Token = secret
	w.Header().Set("Location", "/v1/me/tokens/"+strconv.FormatInt(tok.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) revokeMyToken(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	tokenID, ok := pathID(r, "token")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Token %q does not exist: token ids are positive integers.", r.PathValue("token")))
		return
	}
	tok, err := s.svc.Accounts.RevokeMyToken(r.Context(), p, tokenID)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("token revoked", "account_id", tok.AccountID, "token_id", tokenID, "by", p.Name)
	writeJSON(w, http.StatusOK, renderToken(tok))
}
