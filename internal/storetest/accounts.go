package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var accountTests = []test{
	{"CreateAndRead", testAccountCreateAndRead},
	{"EmailUniqueWithoutCase", testAccountEmailConflict},
	{"NotFound", testAccountNotFound},
	{"List", testAccountList},
	{"Update", testAccountUpdate},
	{"SetPassword", testAccountSetPassword},
	{"Delete", testAccountDelete},
}

var tokenTests = []test{
	{"CreateAndLookUp", testTokenCreateAndLookUp},
	{"UnknownAccount", testTokenUnknownAccount},
	{"List", testTokenList},
	{"Revoke", testTokenRevoke},
	{"Touch", testTokenTouch},
}

var sessionTests = []test{
	{"CreateAndLookUp", testSessionCreateAndLookUp},
	{"NotFound", testSessionNotFound},
	{"UnknownAccount", testSessionUnknownAccount},
	{"Expired", testSessionExpired},
	{"CreateDeletesExpired", testSessionCreateDeletesExpired},
	{"Delete", testSessionDelete},
	{"SetPasswordSignsOut", testSessionSetPassword},
	{"DeleteAccount", testSessionDeleteAccount},
}

var auditTests = []test{
	{"AppendAndRead", testAuditAppendAndRead},
	{"FilterAndPage", testAuditFilterAndPage},
}

// accounts is the fixture's store as an AccountStore.
func (f *fixture) accounts() hookshot.AccountStore {
	f.t.Helper()
	as, ok := f.store.(hookshot.AccountStore)
	if !ok {
		f.t.Fatalf("%T does not implement hookshot.AccountStore", f.store)
	}
	return as
}

func (f *fixture) newAccount(email string) *hookshot.Account {
	return &hookshot.Account{
		Email:        email,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Publish:      []int64{studyA, 190},
		Manage:       []int64{studyB},
		CreatedAt:    f.at(-time.Hour),
		UpdatedAt:    f.at(-time.Minute),
	}
}

func (f *fixture) createAccount(email string, edits ...func(*hookshot.Account)) *hookshot.Account {
	f.t.Helper()
	a := f.newAccount(email)
	for _, e := range edits {
		e(a)
	}
	if err := f.accounts().CreateAccount(f.ctx, a, nil); err != nil {
		f.t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

func (f *fixture) createToken(accountID int64, name string, secret string) *hookshot.Token {
	f.t.Helper()
	tok := &hookshot.Token{AccountID: accountID, Name: name, CreatedAt: f.now}
	if err := f.accounts().CreateToken(f.ctx, tok, hashOf(secret), nil); err != nil {
		f.t.Fatalf("CreateToken: %v", err)
	}
	return tok
}

func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func checkAccount(t testing.TB, what string, got, want *hookshot.Account) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil account", what)
		return
	}
	var d diffs
	d.check("ID", got.ID, want.ID)
	d.check("Email", got.Email, want.Email)
	d.check("PasswordHash", got.PasswordHash, want.PasswordHash)
	d.check("Admin", got.Admin, want.Admin)
	d.check("PublishAll", got.PublishAll, want.PublishAll)
	d.check("Publish", got.Publish, want.Publish)
	d.check("Manage", got.Manage, want.Manage)
	d.check("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.check("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.report(t, what)
}

func checkToken(t testing.TB, what string, got, want *hookshot.Token) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil token", what)
		return
	}
	var d diffs
	d.check("ID", got.ID, want.ID)
	d.check("AccountID", got.AccountID, want.AccountID)
	d.check("Name", got.Name, want.Name)
	d.check("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.check("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.check("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.check("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.report(t, what)
}

// CreateAccount sets the ID; every field reads back by id and by email.
func testAccountCreateAndRead(t *testing.T, f *fixture) {
	a := f.createAccount("Alice@Example.org", func(a *hookshot.Account) { a.Admin, a.PublishAll = true, true })
	if a.ID == 0 {
		t.Fatal("CreateAccount left ID zero")
	}
	got, err := f.accounts().Account(f.ctx, a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	checkAccount(t, "Account", got, a)
	got, err = f.accounts().AccountByEmail(f.ctx, "alice@EXAMPLE.ORG")
	if err != nil {
		t.Fatalf("AccountByEmail in another case: %v", err)
	}
	checkAccount(t, "AccountByEmail", got, a)

	// Zero times are filled; nil grants read back empty.
	b := &hookshot.Account{Email: "bob@example.org"}
	if err := f.accounts().CreateAccount(f.ctx, b, nil); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if b.CreatedAt.IsZero() || b.UpdatedAt.IsZero() || b.ID == a.ID {
		t.Fatalf("CreateAccount left %+v", b)
	}
	got, err = f.accounts().Account(f.ctx, b.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	checkAccount(t, "account without grants", got, b)
}

// An email is taken whatever its case: ErrConflict.
func testAccountEmailConflict(t *testing.T, f *fixture) {
	f.createAccount("carol@example.org")
	err := f.accounts().CreateAccount(f.ctx, f.newAccount("CAROL@example.ORG"), nil)
	wantErr(t, "CreateAccount with a taken email", err, hookshot.ErrConflict)
	list, err := f.accounts().Accounts(f.ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Accounts = %d, %v; want the first account only", len(list), err)
	}
}

func testAccountNotFound(t *testing.T, f *fixture) {
	_, err := f.accounts().Account(f.ctx, 424242)
	wantErr(t, "Account", err, hookshot.ErrNotFound)
	_, err = f.accounts().AccountByEmail(f.ctx, "nobody@example.org")
	wantErr(t, "AccountByEmail", err, hookshot.ErrNotFound)
	err = f.accounts().UpdateAccount(f.ctx, &hookshot.Account{ID: 424242}, nil)
	wantErr(t, "UpdateAccount", err, hookshot.ErrNotFound)
	err = f.accounts().SetPassword(f.ctx, 424242, "x", f.now, nil)
	wantErr(t, "SetPassword", err, hookshot.ErrNotFound)
	err = f.accounts().DeleteAccount(f.ctx, 424242, nil)
	wantErr(t, "DeleteAccount", err, hookshot.ErrNotFound)
}

// Accounts returns every account, oldest first.
func testAccountList(t *testing.T, f *fixture) {
	if list, err := f.accounts().Accounts(f.ctx); err != nil || len(list) != 0 {
		t.Fatalf("Accounts of an empty store = %v, %v", list, err)
	}
	a := f.createAccount("a@example.org")
	b := f.createAccount("b@example.org")
	list, err := f.accounts().Accounts(f.ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("Accounts = %d, %v; want 2", len(list), err)
	}
	checkAccount(t, "Accounts[0]", list[0], a)
	checkAccount(t, "Accounts[1]", list[1], b)
}

// UpdateAccount saves the grants and UpdatedAt, and nothing else.
func testAccountUpdate(t *testing.T, f *fixture) {
	a := f.createAccount("dave@example.org")
	want := *a
	edit := *a
	edit.Email = "changed@example.org"
	edit.PasswordHash = "changed"
	edit.CreatedAt = f.at(time.Hour)
	edit.Admin, edit.PublishAll = true, true
	edit.Publish, edit.Manage = nil, []int64{studyA, studyB}
	edit.UpdatedAt = f.at(time.Second)
	if err := f.accounts().UpdateAccount(f.ctx, &edit, nil); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	want.Admin, want.PublishAll = true, true
	want.Publish, want.Manage = nil, []int64{studyA, studyB}
	want.UpdatedAt = f.at(time.Second)
	checkAccount(t, "UpdateAccount's account", &edit, &want)
	got, err := f.accounts().Account(f.ctx, a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	checkAccount(t, "stored account", got, &want)
}

func testAccountSetPassword(t *testing.T, f *fixture) {
	a := f.createAccount("erin@example.org")
	if err := f.accounts().SetPassword(f.ctx, a.ID, "new-hash", f.at(time.Minute), nil); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	got, err := f.accounts().Account(f.ctx, a.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	if got.PasswordHash != "new-hash" || !got.UpdatedAt.Equal(f.at(time.Minute)) {
		t.Errorf("after SetPassword: hash %q, UpdatedAt %v", got.PasswordHash, got.UpdatedAt)
	}
}

// DeleteAccount removes the account with its tokens.
func testAccountDelete(t *testing.T, f *fixture) {
	a := f.createAccount("frank@example.org")
	other := f.createAccount("grace@example.org")
	f.createToken(a.ID, "ci", "secret-a")
	kept := f.createToken(other.ID, "ci", "secret-b")
	if err := f.accounts().DeleteAccount(f.ctx, a.ID, nil); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	_, err := f.accounts().Account(f.ctx, a.ID)
	wantErr(t, "Account after delete", err, hookshot.ErrNotFound)
	_, _, err = f.accounts().TokenByHash(f.ctx, hashOf("secret-a"))
	wantErr(t, "TokenByHash of a deleted account's token", err, hookshot.ErrNotFound)
	tok, _, err := f.accounts().TokenByHash(f.ctx, hashOf("secret-b"))
	if err != nil || tok.ID != kept.ID {
		t.Fatalf("another account's token: %+v, %v", tok, err)
	}
	// The email is free again.
	f.createAccount("FRANK@example.org")
}

// CreateToken sets the ID; TokenByHash finds the token and its account by
// the hash, and only by it.
func testTokenCreateAndLookUp(t *testing.T, f *fixture) {
	a := f.createAccount("henry@example.org", func(a *hookshot.Account) { a.Admin = true })
	expires := f.at(30 * 24 * time.Hour)
	tok := &hookshot.Token{AccountID: a.ID, Name: "deploy bot", ExpiresAt: &expires, CreatedAt: f.now}
	if err := f.accounts().CreateToken(f.ctx, tok, hashOf("hst_one"), nil); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if tok.ID == 0 {
		t.Fatal("CreateToken left ID zero")
	}
	got, acc, err := f.accounts().TokenByHash(f.ctx, hashOf("hst_one"))
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	checkToken(t, "TokenByHash", got, tok)
	checkAccount(t, "TokenByHash's account", acc, a)
	_, _, err = f.accounts().TokenByHash(f.ctx, hashOf("hst_two"))
	wantErr(t, "TokenByHash of an unknown hash", err, hookshot.ErrNotFound)
	if !bytes.Equal(hashOf("a"), hashOf("a")) {
		t.Fatal("hashOf is not deterministic")
	}
}

func testTokenUnknownAccount(t *testing.T, f *fixture) {
	err := f.accounts().CreateToken(f.ctx, &hookshot.Token{AccountID: 424242, Name: "x"}, hashOf("x"), nil)
	wantErr(t, "CreateToken for an unknown account", err, hookshot.ErrNotFound)
}

// Tokens lists one account's tokens, oldest first.
func testTokenList(t *testing.T, f *fixture) {
	a := f.createAccount("ivy@example.org")
	b := f.createAccount("jack@example.org")
	t1 := f.createToken(a.ID, "one", "s1")
	f.createToken(b.ID, "other", "s2")
	t3 := f.createToken(a.ID, "three", "s3")
	list, err := f.accounts().Tokens(f.ctx, a.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("Tokens = %d, %v; want 2", len(list), err)
	}
	checkToken(t, "Tokens[0]", list[0], t1)
	checkToken(t, "Tokens[1]", list[1], t3)
	if list, err := f.accounts().Tokens(f.ctx, 424242); err != nil || len(list) != 0 {
		t.Fatalf("Tokens of an unknown account = %v, %v; want none", list, err)
	}
}

// RevokeToken sets RevokedAt once; a second revocation keeps the first
// time. Another account's token is ErrNotFound.
func testTokenRevoke(t *testing.T, f *fixture) {
	a := f.createAccount("kate@example.org")
	b := f.createAccount("liam@example.org")
	tok := f.createToken(a.ID, "ci", "s")
	_, err := f.accounts().RevokeToken(f.ctx, b.ID, tok.ID, f.now, nil)
	wantErr(t, "RevokeToken through another account", err, hookshot.ErrNotFound)
	got, err := f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.at(time.Minute), nil)
	if err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	want := *tok
	revoked := f.at(time.Minute)
	want.RevokedAt = &revoked
	checkToken(t, "RevokeToken", got, &want)
	got, err = f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.at(time.Hour), nil)
	if err != nil {
		t.Fatalf("RevokeToken again: %v", err)
	}
	checkToken(t, "RevokeToken again", got, &want)
	stored, _, err := f.accounts().TokenByHash(f.ctx, hashOf("s"))
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	checkToken(t, "revoked token", stored, &want)
	if stored.Usable(f.now) {
		t.Error("a revoked token is usable")
	}
}

func testTokenTouch(t *testing.T, f *fixture) {
	a := f.createAccount("mia@example.org")
	tok := f.createToken(a.ID, "ci", "s")
	if err := f.accounts().TouchToken(f.ctx, tok.ID, f.at(time.Second)); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	got, _, err := f.accounts().TokenByHash(f.ctx, hashOf("s"))
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(f.at(time.Second)) {
		t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, f.at(time.Second))
	}
	if err := f.accounts().TouchToken(f.ctx, 424242, f.now); err != nil {
		t.Errorf("TouchToken of an unknown token: %v", err)
	}
}

// createSession creates a session of the account, created and expiring
// at the times given.
func (f *fixture) createSession(accountID int64, secret string, created, expires time.Time) *hookshot.Session {
	f.t.Helper()
	sess := &hookshot.Session{AccountID: accountID, CreatedAt: created, ExpiresAt: expires}
	if err := f.accounts().CreateSession(f.ctx, sess, hashOf(secret)); err != nil {
		f.t.Fatalf("CreateSession: %v", err)
	}
	return sess
}

// session looks a session up by its secret and fails unless it is want.
func (f *fixture) session(secret string, want *hookshot.Session) {
	f.t.Helper()
	got, _, err := f.accounts().SessionByHash(f.ctx, hashOf(secret))
	if err != nil {
		f.t.Fatalf("SessionByHash(%s): %v", secret, err)
	}
	checkSession(f.t, "SessionByHash("+secret+")", got, want)
}

// sessionGone fails unless no session has the secret.
func (f *fixture) sessionGone(secret string) {
	f.t.Helper()
	_, _, err := f.accounts().SessionByHash(f.ctx, hashOf(secret))
	wantErr(f.t, "SessionByHash("+secret+")", err, hookshot.ErrNotFound)
}

func checkSession(t testing.TB, what string, got, want *hookshot.Session) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil session", what)
		return
	}
	var d diffs
	d.check("ID", got.ID, want.ID)
	d.check("AccountID", got.AccountID, want.AccountID)
	d.check("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.check("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.report(t, what)
}

// CreateSession sets the ID; SessionByHash finds the session and its
// account, with its grants, by the hash.
func testSessionCreateAndLookUp(t *testing.T, f *fixture) {
	a := f.createAccount("nora@example.org", func(a *hookshot.Account) { a.Admin = true })
	sess := f.createSession(a.ID, "hss_one", f.now, f.at(12*time.Hour+345678*time.Microsecond))
	if sess.ID == 0 {
		t.Fatal("CreateSession left ID zero")
	}
	got, acc, err := f.accounts().SessionByHash(f.ctx, hashOf("hss_one"))
	if err != nil {
		t.Fatalf("SessionByHash: %v", err)
	}
	checkSession(t, "SessionByHash", got, sess)
	checkAccount(t, "SessionByHash's account", acc, a)

	// A zero CreatedAt is filled.
	zero := &hookshot.Session{AccountID: a.ID, ExpiresAt: f.at(time.Hour)}
	if err := f.accounts().CreateSession(f.ctx, zero, hashOf("hss_two")); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if zero.CreatedAt.IsZero() || zero.ID == sess.ID {
		t.Fatalf("CreateSession left %+v", zero)
	}
	f.session("hss_two", zero)
}

func testSessionNotFound(t *testing.T, f *fixture) {
	a := f.createAccount("oscar@example.org")
	f.createSession(a.ID, "hss_one", f.now, f.at(time.Hour))
	f.sessionGone("hss_two")
}

// An unknown account is ErrNotFound, and no session is left behind.
func testSessionUnknownAccount(t *testing.T, f *fixture) {
	err := f.accounts().CreateSession(f.ctx, &hookshot.Session{AccountID: 424242, ExpiresAt: f.at(time.Hour)}, hashOf("x"))
	wantErr(t, "CreateSession for an unknown account", err, hookshot.ErrNotFound)
	f.sessionGone("x")
}

// SessionByHash returns an expired session; Usable tells.
func testSessionExpired(t *testing.T, f *fixture) {
	a := f.createAccount("paula@example.org")
	sess := f.createSession(a.ID, "old", f.at(-2*time.Hour), f.at(-time.Hour))
	got, acc, err := f.accounts().SessionByHash(f.ctx, hashOf("old"))
	if err != nil {
		t.Fatalf("SessionByHash of an expired session: %v", err)
	}
	checkSession(t, "expired session", got, sess)
	checkAccount(t, "expired session's account", acc, a)
	if got.Usable(f.now) {
		t.Error("an expired session is usable")
	}
	if !got.Usable(f.at(-time.Hour - time.Microsecond)) {
		t.Error("a session is not usable before it expires")
	}
}

// CreateSession deletes the sessions, of every account, that expired
// before its CreatedAt, and only those.
func testSessionCreateDeletesExpired(t *testing.T, f *fixture) {
	a := f.createAccount("quinn@example.org")
	b := f.createAccount("rosa@example.org")
	aExpired := f.createSession(a.ID, "a-expired", f.at(-2*time.Hour), f.at(-time.Hour))
	bExpired := f.createSession(b.ID, "b-expired", f.at(-2*time.Hour), f.at(-time.Microsecond))
	aLive := f.createSession(a.ID, "a-live", f.at(-2*time.Hour), f.at(time.Hour))
	bLive := f.createSession(b.ID, "b-live", f.at(-2*time.Hour), f.at(time.Hour))
	// Expired at the new session's CreatedAt, but not before it.
	edge := f.createSession(b.ID, "b-edge", f.at(-2*time.Hour), f.now)
	// Creating those deleted none of them: none had expired two hours ago.
	f.session("a-expired", aExpired)
	f.session("b-expired", bExpired)

	sess := f.createSession(a.ID, "new", f.now, f.at(time.Hour))
	f.sessionGone("a-expired")
	f.sessionGone("b-expired")
	f.session("a-live", aLive)
	f.session("b-live", bLive)
	f.session("b-edge", edge)
	f.session("new", sess)
}

// DeleteSession removes one session; deleting it again is not an error.
func testSessionDelete(t *testing.T, f *fixture) {
	a := f.createAccount("sam@example.org")
	f.createSession(a.ID, "gone", f.now, f.at(time.Hour))
	kept := f.createSession(a.ID, "kept", f.now, f.at(time.Hour))
	if err := f.accounts().DeleteSession(f.ctx, hashOf("gone")); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	f.sessionGone("gone")
	f.session("kept", kept)
	if err := f.accounts().DeleteSession(f.ctx, hashOf("gone")); err != nil {
		t.Errorf("DeleteSession again: %v", err)
	}
	if err := f.accounts().DeleteSession(f.ctx, hashOf("never")); err != nil {
		t.Errorf("DeleteSession of an unknown session: %v", err)
	}
}

// SetPassword signs the account out everywhere, and no other account.
func testSessionSetPassword(t *testing.T, f *fixture) {
	a := f.createAccount("tina@example.org")
	b := f.createAccount("uma@example.org")
	f.createSession(a.ID, "a-laptop", f.now, f.at(time.Hour))
	f.createSession(a.ID, "a-phone", f.now, f.at(time.Hour))
	kept := f.createSession(b.ID, "b-laptop", f.now, f.at(time.Hour))
	if err := f.accounts().SetPassword(f.ctx, a.ID, "new-hash", f.at(time.Minute), nil); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	f.sessionGone("a-laptop")
	f.sessionGone("a-phone")
	f.session("b-laptop", kept)
	// Signing in again with the new password works.
	f.createSession(a.ID, "a-laptop", f.at(time.Minute), f.at(time.Hour))
}

// DeleteAccount removes the account's sessions, and no other account's.
func testSessionDeleteAccount(t *testing.T, f *fixture) {
	a := f.createAccount("victor@example.org")
	b := f.createAccount("wendy@example.org")
	f.createSession(a.ID, "a", f.now, f.at(time.Hour))
	kept := f.createSession(b.ID, "b", f.now, f.at(time.Hour))
	if err := f.accounts().DeleteAccount(f.ctx, a.ID, nil); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	f.sessionGone("a")
	f.session("b", kept)
	// SessionByHash joins the account, so it would miss a session left
	// behind; the hash, which is unique, would not be free again.
	f.createSession(b.ID, "a", f.now, f.at(time.Hour))
}

func checkAudit(t testing.TB, what string, got, want *hookshot.AuditEntry) {
	t.Helper()
	var d diffs
	d.check("ID", got.ID, want.ID)
	d.check("At", got.At, want.At)
	d.check("Actor", got.Actor, want.Actor)
	d.check("Action", got.Action, want.Action)
	d.check("StudyID", got.StudyID, want.StudyID)
	d.check("Target", got.Target, want.Target)
	d.check("Detail", got.Detail, want.Detail)
	d.report(t, what)
}

func (f *fixture) audit(e hookshot.AuditEntry) *hookshot.AuditEntry {
	f.t.Helper()
	if err := f.accounts().AppendAudit(f.ctx, &e); err != nil {
		f.t.Fatalf("AppendAudit: %v", err)
	}
	return &e
}

// AppendAudit sets the ID; Audit reads every field back, newest first.
func testAuditAppendAndRead(t *testing.T, f *fixture) {
	e1 := f.audit(hookshot.AuditEntry{At: f.at(-time.Minute), Actor: "account:3 alice@example.org", Action: hookshot.AuditCreated,
		StudyID: studyA, Target: "webhook 74", Detail: "events upload"})
	e2 := f.audit(hookshot.AuditEntry{At: f.now, Actor: "admin-token", Action: hookshot.AuditCreated, Target: "account 3"})
	if e1.ID == 0 || e2.ID <= e1.ID {
		t.Fatalf("IDs %d then %d, want growing", e1.ID, e2.ID)
	}
	zero := f.audit(hookshot.AuditEntry{Actor: "cli:root", Action: hookshot.AuditChanged, Target: "account 3"})
	if zero.At.IsZero() {
		t.Error("AppendAudit left a zero At")
	}
	got, err := f.accounts().Audit(f.ctx, hookshot.AuditFilter{})
	if err != nil || len(got) != 3 {
		t.Fatalf("Audit = %d, %v; want 3", len(got), err)
	}
	checkAudit(t, "Audit[0]", got[0], zero)
	checkAudit(t, "Audit[1]", got[1], e2)
	checkAudit(t, "Audit[2]", got[2], e1)
}

// Audit filters by study and pages by ID.
func testAuditFilterAndPage(t *testing.T, f *fixture) {
	var inA []*hookshot.AuditEntry
	for i := range 5 {
		inA = append(inA, f.audit(hookshot.AuditEntry{Actor: "x", Action: hookshot.AuditChanged, StudyID: studyA, Target: "webhook 1", At: f.at(time.Duration(i) * time.Second)}))
		f.audit(hookshot.AuditEntry{Actor: "x", Action: hookshot.AuditChanged, StudyID: studyB, Target: "webhook 2"})
	}
	f.audit(hookshot.AuditEntry{Actor: "x", Action: hookshot.AuditCreated, Target: "account 1"})
	page, err := f.accounts().Audit(f.ctx, hookshot.AuditFilter{StudyID: studyA, Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != inA[4].ID || page[1].ID != inA[3].ID {
		t.Fatalf("first page = %v, %v; want entries %d, %d", auditIDs(page), err, inA[4].ID, inA[3].ID)
	}
	page, err = f.accounts().Audit(f.ctx, hookshot.AuditFilter{StudyID: studyA, Before: page[1].ID, Limit: 10})
	if err != nil || len(page) != 3 || page[0].ID != inA[2].ID || page[2].ID != inA[0].ID {
		t.Fatalf("second page = %v, %v; want the 3 oldest of study A", auditIDs(page), err)
	}
	all, err := f.accounts().Audit(f.ctx, hookshot.AuditFilter{})
	if err != nil || len(all) != 11 {
		t.Fatalf("Audit = %d, %v; want 11", len(all), err)
	}
}

func auditIDs(es []*hookshot.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
