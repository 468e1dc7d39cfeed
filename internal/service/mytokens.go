package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/hookshot/hookshot"
)

// Self-service tokens (SPEC §15): a webhooks manager creates, lists and
// revokes the API tokens of its own account, without an administrator. A
// token acts with its account's roles as they are at each request (see
// Authenticate), so it never holds more than the account that made it, and
// loses what the account loses.

// mayOwnTokens is nil when p is an account that may manage its own tokens:
// one that manages webhooks, or an admin. Publishers are services whose
// tokens an administrator issues; the operator's admin token and the CLI
// have no account.
func mayOwnTokens(p *hookshot.Principal) error {
	switch {
	case p == nil || p.AccountID == 0:
		return hookshot.Errorf(hookshot.EForbidden, "This caller belongs to no account, so it has no tokens of its own; an administrator manages accounts' tokens under /v1/accounts/{id}/tokens.")
	case !p.Admin && len(p.Manage) == 0:
		return hookshot.Errorf(hookshot.EForbidden, "Only webhooks managers and administrators manage their own tokens; ask an administrator for a token.")
	}
	return nil
}

// MyTokens lists the tokens of p's own account, oldest first, revoked
// and expired ones included.
func (s *Accounts) MyTokens(ctx context.Context, p *hookshot.Principal) ([]*hookshot.Token, error) {
	if err := mayOwnTokens(p); err != nil {
		return nil, err
	}
	return s.accounts.Tokens(ctx, p.AccountID)
}

// CreateMyToken creates a token of p's own account, with the account's
// roles, and returns it with its secret, which is shown this once. Bad
// input is EInvalid, as for CreateToken.
func (s *Accounts) CreateMyToken(ctx context.Context, p *hookshot.Principal, in TokenInput) (*hookshot.Token, string, error) {
	if err := mayOwnTokens(p); err != nil {
		return nil, "", err
	}
	if in.Roles == nil {
		// A token made by a narrowed token is no broader than its maker.
		acc, err := s.account(ctx, p.AccountID)
		if err != nil {
			return nil, "", err
		}
		if !sameRoles(p, acc.Principal()) {
			in.Roles = &hookshot.TokenRoles{Admin: p.Admin, PublishAll: p.PublishAll, Publish: p.Publish, Manage: p.Manage}
		}
	}
	return s.createToken(ctx, p, p.AccountID, in, p)
}

// withinRoles is nil when bound holds every role of r, and otherwise
// EForbidden naming each role it does not hold.
func withinRoles(r hookshot.TokenRoles, bound *hookshot.Principal) error {
	var problems []hookshot.FieldError
	if r.Admin && !bound.Admin {
		problems = append(problems, hookshot.FieldError{Field: "roles.admin", Message: "is not yours to give: you are not an administrator"})
	}
	if r.PublishAll && !bound.Admin && !bound.PublishAll {
		problems = append(problems, hookshot.FieldError{Field: "roles.publish_all", Message: "is not yours to give: you may not publish for every study"})
	}
	for i, id := range r.Publish {
		if !bound.CanPublish(id) {
			problems = append(problems, hookshot.FieldError{Field: fmt.Sprintf("roles.publish[%d]", i), Message: fmt.Sprintf("is not yours to give: you may not publish for study %d", id)})
		}
	}
	for i, id := range r.Manage {
		if !bound.CanManage(id) {
			problems = append(problems, hookshot.FieldError{Field: fmt.Sprintf("roles.manage[%d]", i), Message: fmt.Sprintf("is not yours to give: you do not manage study %d", id)})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &hookshot.Error{Code: hookshot.EForbidden, FieldErrors: problems,
		Message: "The token was not created: a token never holds more than its maker; " + summary(problems)}
}

// sameRoles reports whether p and q may do the same.
func sameRoles(p, q *hookshot.Principal) bool {
	set := func(ids []int64) []int64 { s := slices.Clone(ids); slices.Sort(s); return slices.Compact(s) }
	return p.Admin == q.Admin && p.PublishAll == q.PublishAll &&
		slices.Equal(set(p.Publish), set(q.Publish)) && slices.Equal(set(p.Manage), set(q.Manage))
}

// RevokeMyToken revokes a token of p's own account; it stops working at
// once. Another account's token is ENotFound, as if it did not exist.
func (s *Accounts) RevokeMyToken(ctx context.Context, p *hookshot.Principal, id int64) (*hookshot.Token, error) {
	if err := mayOwnTokens(p); err != nil {
		return nil, err
	}
	tok, err := s.revokeToken(ctx, p, p.AccountID, id)
	if hookshot.ErrorCode(err) == hookshot.ENotFound {
		return nil, hookshot.Errorf(hookshot.ENotFound, "Token %d is not one of your tokens.", id)
	}
	return tok, err
}
