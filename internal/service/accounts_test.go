package service_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

func TestCreateAccountNormalises(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, err := f.accounts.Create(ctx, root, service.AccountInput{Email: " Alice@Example.ORG ", Password: "a long password",
		Publish: []int64{190, 189, 190}, Manage: []int64{7}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "alice@example.org" || len(a.Publish) != 2 || a.Publish[0] != 189 || !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
		t.Fatalf("created %+v", a)
	}
	got, ok, err := f.sessions.CheckPassword(ctx, "ALICE@example.org", "a long password")
	if err != nil || !ok || got.ID != a.ID {
		t.Fatalf("CheckPassword = %v, %v, %v", got, ok, err)
	}
	if _, ok, err := f.sessions.CheckPassword(ctx, "alice@example.org", "wrong password!"); ok || err != nil {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	if _, ok, err := f.sessions.CheckPassword(ctx, "nobody@example.org", "a long password"); ok || err != nil {
		t.Fatalf("unknown email: %v, %v", ok, err)
	}
	_, err = f.accounts.Create(ctx, root, service.AccountInput{Email: "ALICE@example.org"})
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
		{"not UTF-8", service.AccountInput{Email: "al\xffce@example.org"}, "email"},
		{"short password", service.AccountInput{Email: "a@example.org", Password: "short"}, "password"},
		{"zero study", service.AccountInput{Email: "a@example.org", Manage: []int64{0}}, "manage[0]"},
		{"negative study", service.AccountInput{Email: "a@example.org", Publish: []int64{1, -2}}, "publish[1]"},
	}
	f := newFixture(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.accounts.Create(t.Context(), root, c.in)
			var e *hookshot.Error
			if hookshot.ErrorCode(err) != hookshot.EInvalid || !errors.As(err, &e) || len(e.FieldErrors) == 0 || e.FieldErrors[0].Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
	if list, _ := f.accounts.List(t.Context(), root); len(list) != 0 {
		t.Fatalf("bad input created %d accounts", len(list))
	}
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, service.AccountInput{Email: "m@example.org", Manage: []int64{189}})
	tok, secret, err := f.accounts.CreateToken(ctx, root, a.ID, service.TokenInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, service.TokenPrefix) || len(secret) != len(service.TokenPrefix)+43 {
		t.Fatalf("token %q, want hst_ and 43 base64url characters", secret)
	}
	p, err := f.accounts.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "account:1 m@example.org" || p.Admin || !p.CanManage(189) || p.CanManage(190) || p.CanPublish(189) {
		t.Fatalf("principal %+v", p)
	}
	// Grants apply at the next request.
	pub := []int64{190}
	if _, err := f.accounts.Update(ctx, root, a.ID, service.AccountPatch{Publish: &pub}); err != nil {
		t.Fatal(err)
	}
	if p, err = f.accounts.Authenticate(ctx, secret); err != nil || !p.CanPublish(190) {
		t.Fatalf("after a grant: %+v, %v", p, err)
	}
	toks, _ := f.accounts.Tokens(ctx, root, a.ID)
	if len(toks) != 1 || toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(start) {
		t.Fatalf("tokens %+v, want one, used at %s", toks, start)
	}

	for name, bad := range map[string]string{"empty": "", "no prefix": secret[len(service.TokenPrefix):], "unknown": secret + "x"} {
		if _, err := f.accounts.Authenticate(ctx, bad); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
			t.Errorf("%s token: %v, want unauthorized", name, err)
		}
	}
	if _, err := f.accounts.RevokeToken(ctx, root, a.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.accounts.Authenticate(ctx, secret); hookshot.ErrorCode(err) != hookshot.EUnauthorized || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("revoked token: %v", err)
	}

	// Every change is in the trail, newest first.
	entries, next, err := f.accounts.Audit(ctx, root, service.AuditQuery{Limit: 2})
	if err != nil || len(entries) != 2 || next == "" {
		t.Fatalf("Audit = %d entries, %q, %v", len(entries), next, err)
	}
	if entries[0].Action != hookshot.AuditRevoked || entries[0].Target != "token 1 of account 1" || entries[0].Detail != `name "ci"` ||
		entries[1].Action != hookshot.AuditChanged {
		t.Fatalf("newest entries %+v %+v", entries[0], entries[1])
	}
	if !entries[0].At.Equal(start) {
		t.Errorf("entry at %s, want the service's clock, %s", entries[0].At, start)
	}
	rest, next, err := f.accounts.Audit(ctx, root, service.AuditQuery{Cursor: next})
	if err != nil || next != "" || len(rest) != 2 || rest[1].Action != hookshot.AuditCreated || rest[1].Target != "account 1" {
		t.Fatalf("rest of the trail: %d, %q, %v", len(rest), next, err)
	}
	if all, _ := f.store.Audit(ctx, hookshot.AuditFilter{}); len(all) != 4 {
		t.Fatalf("%d entries, want 4", len(all))
	}
}

// A token expires by the service's clock, and its last use is written at
// most once a minute, not on every request.
func TestTokenTimes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, service.AccountInput{Email: "p@example.org", PublishAll: true})
	tok, secret, err := f.accounts.CreateToken(ctx, root, a.ID, service.TokenInput{Name: "hourly", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("expires at %v, want %s", tok.ExpiresAt, start.Add(time.Hour))
	}
	lastUsed := func() time.Time {
		t.Helper()
		toks, err := f.accounts.Tokens(ctx, root, a.ID)
		if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil {
			t.Fatalf("tokens %+v, %v: want one, used", toks, err)
		}
		return *toks[0].LastUsedAt
	}
	for _, step := range []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, start},
		{59 * time.Second, start},
		{time.Second, start.Add(time.Minute)},
	} {
		f.clock.Advance(step.advance)
		if _, err := f.accounts.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(step.want) {
			t.Fatalf("at %s: last used %s, want %s", f.clock.Now(), got, step.want)
		}
	}
	f.clock.Set(start.Add(time.Hour))
	if _, err := f.accounts.Authenticate(ctx, secret); hookshot.ErrorCode(err) != hookshot.EUnauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at its expiry: %v, want expired", err)
	}

	cases := []struct {
		name  string
		in    service.TokenInput
		field string
	}{
		{"past expiry", service.TokenInput{Name: "x", ExpiresAt: &start}, "expires_at"},
		{"expiry now", service.TokenInput{Name: "x", ExpiresAt: ptr(f.clock.Now())}, "expires_at"},
		{"negative lifetime", service.TokenInput{Name: "x", ExpiresIn: -time.Hour}, "expires_in"},
		{"both", service.TokenInput{Name: "x", ExpiresAt: ptr(f.clock.Now().Add(time.Hour)), ExpiresIn: time.Hour}, "expires_in"},
		{"no name", service.TokenInput{ExpiresIn: time.Hour}, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, secret, err := f.accounts.CreateToken(ctx, root, a.ID, c.in)
			var e *hookshot.Error
			if hookshot.ErrorCode(err) != hookshot.EInvalid || !errors.As(err, &e) || len(e.FieldErrors) == 0 || e.FieldErrors[0].Field != c.field || secret != "" {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
	if toks, _ := f.accounts.Tokens(ctx, root, a.ID); len(toks) != 1 {
		t.Fatalf("%d tokens, want the first alone", len(toks))
	}
}

// A portal session lasts SessionTTL by the service's clock, and ends at
// sign-out.
func TestSessions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.account(t, service.AccountInput{Email: "m@example.org", Password: "a long password", Manage: []int64{189}})
	if _, _, err := f.sessions.SignIn(ctx, "m@example.org", "not the password"); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	got, secret, err := f.sessions.SignIn(ctx, " M@example.org", "a long password")
	if err != nil || got.ID != a.ID || !strings.HasPrefix(secret, service.SessionPrefix) {
		t.Fatalf("SignIn = %+v, %q, %v", got, secret, err)
	}
	f.clock.Advance(service.SessionTTL - time.Microsecond)
	if got, err := f.sessions.Account(ctx, secret); err != nil || got.ID != a.ID {
		t.Fatalf("just before its end: %+v, %v", got, err)
	}
	f.clock.Advance(time.Microsecond)
	if _, err := f.sessions.Account(ctx, secret); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
		t.Fatalf("at its end: %v, want unauthorized", err)
	}

	_, secret, err = f.sessions.SignIn(ctx, "m@example.org", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sessions.SignOut(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Account(ctx, secret); hookshot.ErrorCode(err) != hookshot.EUnauthorized {
		t.Fatalf("after sign-out: %v, want unauthorized", err)
	}
	for _, bad := range []string{"", "hst_not-a-session", secret} {
		if err := f.sessions.SignOut(ctx, bad); err != nil {
			t.Errorf("SignOut(%q) = %v, want nil", bad, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
