package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// accountJSON shows an account. The password hash is not in it: only
// whether there is one.
type accountJSON struct {
	ID          int64     `json:"id"`
	Email       string    `json:"email"`
	HasPassword bool      `json:"has_password"`
	Admin       bool      `json:"admin"`
	PublishAll  bool      `json:"publish_all"`
	Publish     []int64   `json:"publish"`
	Manage      []int64   `json:"manage"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func renderAccount(a *hookshot.Account) accountJSON {
	out := accountJSON{ID: a.ID, Email: a.Email, HasPassword: a.PasswordHash != "", Admin: a.Admin, PublishAll: a.PublishAll,
		Publish: a.Publish, Manage: a.Manage, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if out.Publish == nil {
		out.Publish = []int64{}
	}
	if out.Manage == nil {
		out.Manage = []int64{}
	}
	return out
}

// accountRequest is the body of create and edit; pointers tell "absent"
// from "empty" for PATCH. Email is for create only.
type accountRequest struct {
	Email      *string  `json:"email"`
	Password   *string  `json:"password"`
	Admin      *bool    `json:"admin"`
	PublishAll *bool    `json:"publish_all"`
	Publish    *[]int64 `json:"publish"`
	Manage     *[]int64 `json:"manage"`
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	accounts, err := s.svc.Accounts.List(r.Context(), p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	items := make([]accountJSON, len(accounts))
	for i, a := range accounts {
		items[i] = renderAccount(a)
	}
	writeJSON(w, http.StatusOK, list(items, ""))
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	var req accountRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	in := service.AccountInput{}
	if req.Email != nil {
		in.Email = *req.Email
	}
	if req.Password != nil {
		in.Password = *req.Password
	}
	if req.Admin != nil {
		in.Admin = *req.Admin
	}
	if req.PublishAll != nil {
		in.PublishAll = *req.PublishAll
	}
	if req.Publish != nil {
		in.Publish = *req.Publish
	}
	if req.Manage != nil {
		in.Manage = *req.Manage
	}
	a, err := s.svc.Accounts.Create(r.Context(), p, in)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("account created", "account_id", a.ID, "by", p.Name)
	w.Header().Set("Location", "/v1/accounts/"+strconv.FormatInt(a.ID, 10))
	writeJSON(w, http.StatusCreated, renderAccount(a))
}

// accountID parses {account}, writing the problem when it is no id.
func (s *Server) accountID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := pathID(r, "account")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Account %q does not exist: account ids are positive integers.", r.PathValue("account")))
	}
	return id, ok
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
	a, err := s.svc.Accounts.Get(r.Context(), p, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, renderAccount(a))
}

func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
	var req accountRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	if req.Email != nil {
		s.problem(w, r, hookshot.Invalid("An account's email cannot be changed; create another account instead.",
			hookshot.FieldError{Field: "email", Message: "cannot be changed"}))
		return
	}
	a, err := s.svc.Accounts.Update(r.Context(), p, id, service.AccountPatch{
		Admin: req.Admin, PublishAll: req.PublishAll, Publish: req.Publish, Manage: req.Manage, Password: req.Password,
	})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("account changed", "account_id", id, "by", p.Name)
	writeJSON(w, http.StatusOK, renderAccount(a))
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
	if err := s.svc.Accounts.Delete(r.Context(), p, id); err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("account deleted", "account_id", id, "by", p.Name)
	w.WriteHeader(http.StatusNoContent)
}

// tokenJSON shows a token. Token (the secret) is set only in the answer to
// its creation.
type tokenJSON struct {
	ID         int64      `json:"id"`
	AccountID  int64      `json:"account_id"`
	Name       string     `json:"name"`
	Token      string     `json:"token,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	// Roles is null for a token with all of its account's roles.
	Roles *tokenRolesJSON `json:"roles"`
}

type tokenRolesJSON struct {
	Admin      bool    `json:"admin"`
	PublishAll bool    `json:"publish_all"`
	Publish    []int64 `json:"publish"`
	Manage     []int64 `json:"manage"`
}

func renderToken(t *hookshot.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, AccountID: t.AccountID, Name: t.Name, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
		LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
	if r := t.Roles; r != nil {
		out.Roles = &tokenRolesJSON{Admin: r.Admin, PublishAll: r.PublishAll, Publish: r.Publish, Manage: r.Manage}
		if out.Roles.Publish == nil {
			out.Roles.Publish = []int64{}
		}
		if out.Roles.Manage == nil {
			out.Roles.Manage = []int64{}
		}
	}
	return out
}

// tokenRequest creates a token. It expires at expires_at, or after
// expires_in (a Go duration such as "720h"), or never.
//
// roles, when given, narrows the token to some of the roles that its
// account (and, for /v1/me/tokens, the caller) holds.
type tokenRequest struct {
	Name      string          `json:"name"`
	ExpiresAt *time.Time      `json:"expires_at"`
	ExpiresIn string          `json:"expires_in"`
	Roles     *tokenRolesJSON `json:"roles"`
}

func (req tokenRequest) input() (service.TokenInput, error) {
	in := service.TokenInput{Name: req.Name, ExpiresAt: req.ExpiresAt}
	if r := req.Roles; r != nil {
		in.Roles = &hookshot.TokenRoles{Admin: r.Admin, PublishAll: r.PublishAll, Publish: r.Publish, Manage: r.Manage}
	}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return in, hookshot.Invalid("expires_in must be a positive duration such as 720h.", hookshot.FieldError{Field: "expires_in", Message: "must be a positive duration such as 720h"})
		}
		in.ExpiresIn = d
	}
	return in, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
	tokens, err := s.svc.Accounts.Tokens(r.Context(), p, id)
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

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
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
	tok, secret, err := s.svc.Accounts.CreateToken(r.Context(), p, id, in)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("token created", "account_id", id, "token_id", tok.ID, "by", p.Name)
	out := renderToken(tok)
	out.Token = secret
	w.Header().Set("Location", "/v1/accounts/"+strconv.FormatInt(id, 10)+"/tokens/"+strconv.FormatInt(tok.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	id, ok := s.accountID(w, r)
	if !ok {
		return
	}
	tokenID, ok := pathID(r, "token")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Token %q does not exist: token ids are positive integers.", r.PathValue("token")))
		return
	}
	tok, err := s.svc.Accounts.RevokeToken(r.Context(), p, id, tokenID)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("token revoked", "account_id", id, "token_id", tokenID, "by", p.Name)
	writeJSON(w, http.StatusOK, renderToken(tok))
}
