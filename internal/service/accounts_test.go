package service_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/internal/sqlite"
)

func newService(t *testing.T) (*service.Service, *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return service.New(store, nil, nil, nil, service.Config{}), store
}

var root = &hookshot.Principal{Name: "test", Admin: true}

func TestCreateAccountNormalises(t *testing.T) {
	svc, _ := newService(t)
	ctx := t.Context()
	a, err := svc.CreateAccount(ctx, root, service.AccountInput{Email: " Alice@Example.ORG ", Password: "a long password",
		Publish: []int64{190, 189, 190}, Manage: []int64{7}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "alice@example.org" || len(a.Publish) != 2 || a.Publish[0] != 189 || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Fatalf("created %+v", a)
	}
	got, ok, err := svc.CheckPassword(ctx, "ALICE@example.org", "a long password")
	if err != nil || !ok || got.ID != a.ID {
		t.Fatalf("CheckPassword = %v, %v, %v", got, ok, err)
	}
	if _, ok, err := svc.CheckPassword(ctx, "alice@example.org", "wrong password!"); ok || err != nil {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	if _, ok, err := svc.CheckPassword(ctx, "nobody@example.org", "a long password"); ok || err != nil {
		t.Fatalf("unknown email: %v, %v", ok, err)
	}
	_, err = svc.CreateAccount(ctx, root, service.AccountInput{Email: "ALICE@example.org"})
	if hookshot.ErrorCode(err) != hookshot.EConflict {
		t.Fatalf("taken email: %v, want a conflict", err)
	}
}

func TestCreateAccountRefusesBadInput(t *testing.T) {
	cases := []struct {
		name  string
		in    service.AccountInput
		field string
	}{
		{"no email", service.AccountInput{}, "email"},
		{"display name", service.AccountInput{Email: "Alice <alice@example.org>"}, "email"},
		{"no at", service.AccountInput{Email: "alice"}, "email"},
		{"short password", service.AccountInput{Email: "a@example.org", Password: "short"}, "password"},
		{"zero study", service.AccountInput{Email: "a@example.org", Manage: []int64{0}}, "manage[0]"},
		{"negative study", service.AccountInput{Email: "a@example.org", Publish: []int64{1, -2}}, "publish[1]"},
	}
	svc, _ := newService(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.CreateAccount(t.Context(), root, c.in)
			var e *hookshot.Error
			if hookshot.ErrorCode(err) != hookshot.EInvalid || !errors.As(err, &e) || len(e.FieldErrors) == 0 || e.FieldErrors[0].Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
	if list, _ := svc.Accounts(t.Context()); len(list) != 0 {
		t.Fatalf("bad input created %d accounts", len(list))
	}
}

func TestAuthenticate(t *testing.T) {
	svc, store := newService(t)
	ctx := t.Context()
	a, err := svc.CreateAccount(ctx, root, service.AccountInput{Email: "m@example.org", Manage: []int64{189}})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svc.CreateToken(ctx, root, a.ID, service.TokenInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, service.TokenPrefix) || len(secret) != len(service.TokenPrefix)+43 {
		t.Fatalf("token %q, want hst_ and 43 base64url characters", secret)
	}
	p, err := svc.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "account:1 m@example.org" || p.Admin || !p.CanManage(189) || p.CanManage(190) || p.CanPublish(189) {
		t.Fatalf("principal %+v", p)
	}
	// Grants apply at the next request.
	pub := []int64{190}
	if _, err := svc.UpdateAccount(ctx, root, a.ID, service.AccountPatch{Publish: &pub}); err != nil {
		t.Fatal(err)
	}
	if p, err = svc.Authenticate(ctx, secret); err != nil || !p.CanPublish(190) {
		t.Fatalf("after a grant: %+v, %v", p, err)
	}
	toks, _ := svc.Tokens(ctx, a.ID)
	if len(toks) != 1 || toks[0].LastUsedAt == nil {
		t.Fatalf("tokens %+v, want one, used", toks)
	}

	for name, bad := range map[string]string{"empty": "", "no prefix": secret[len(service.TokenPrefix):], "unknown": secret + "x"} {
		if _, err := svc.Authenticate(ctx, bad); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
			t.Errorf("%s token: %v, want unauthorized", name, err)
		}
	}
	if _, err := svc.RevokeToken(ctx, root, a.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, secret); hookshot.ErrorCode(err) != hookshot.EUnauthorized || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked token: %v", err)
	}

	// The service refuses a past expiry; an expired token is stored
	// directly.
	past := time.Now().Add(-time.Minute)
	_, secret2, err := svc.CreateToken(ctx, root, a.ID, service.TokenInput{Name: "soon", ExpiresAt: &past})
	if hookshot.ErrorCode(err) != hookshot.EInvalid || secret2 != "" {
		t.Fatalf("past expiry: %v", err)
	}
	secret2 = service.TokenPrefix + "expired-token-for-the-test"
	sum := sha256.Sum256([]byte(secret2))
	if err := store.CreateToken(ctx, &hookshot.Token{AccountID: a.ID, Name: "old", ExpiresAt: &past}, sum[:], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, secret2); hookshot.ErrorCode(err) != hookshot.EUnauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}

	// Every change is in the trail, newest first.
	entries, next, err := svc.Audit(ctx, service.AuditQuery{Limit: 2})
	if err != nil || len(entries) != 2 || next == "" {
		t.Fatalf("Audit = %d entries, %q, %v", len(entries), next, err)
	}
	if entries[0].Action != hookshot.AuditRevoked || entries[0].Target != "token 1 of account 1" || entries[0].Detail != `name "ci"` ||
		entries[1].Action != hookshot.AuditChanged {
		t.Fatalf("newest entries %+v %+v", entries[0], entries[1])
	}
	rest, next, err := svc.Audit(ctx, service.AuditQuery{Cursor: next})
	if err != nil || next != "" || len(rest) != 2 || rest[1].Action != hookshot.AuditCreated || rest[1].Target != "account 1" {
		t.Fatalf("rest of the trail: %d, %q, %v", len(rest), next, err)
	}
	if all, _ := store.Audit(ctx, hookshot.AuditFilter{}); len(all) != 4 {
		t.Fatalf("%d entries, want 4", len(all))
	}
}
