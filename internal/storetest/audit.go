package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// The audited changes: every method that takes an audit entry writes it
// with the change, and only with it.
var auditedTests = []test{
	{"EntryWithChange", testAuditEntryWithChange},
	{"NoEntryWithoutChange", testAuditNoEntryWithoutChange},
	{"RevokeAgain", testAuditRevokeAgain},
}

// auditedChange makes one change through a method that takes an audit
// entry, passing e, after setting up with nil entries what it needs. It
// returns the Target the stored entry must have.
type auditedChange struct {
	name string
	do   func(f *fixture, e *hookshot.AuditEntry) (target string, err error)
}

// auditedChanges cover every method that takes an audit entry. Creates
// name the new row by hookshot.AuditNewID.
var auditedChanges = []auditedChange{
	{"CreateWebhook", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		w := f.newWebhook(studyA)
		e.Target = "webhook " + hookshot.AuditNewID
		err := f.store.CreateWebhook(f.ctx, w, f.newValidation(w), e)
		return fmt.Sprintf("webhook %d", w.ID), err
	}},
	{"UpdateWebhook", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		w := f.createWebhook(studyA)
		w.URL = "https://changed.example/"
		return e.Target, f.store.UpdateWebhook(f.ctx, w, f.newValidation(w), e)
	}},
	{"DeleteWebhook", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		w := f.createWebhook(studyA)
		return e.Target, f.store.DeleteWebhook(f.ctx, studyA, w.ID, e)
	}},
	{"ResendDelivery", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		d := f.finishedDelivery()
		_, err := f.store.ResendDelivery(f.ctx, d.WebhookID, d.ID, f.at(time.Hour), e)
		return e.Target, err
	}},
	{"CreateAccount", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.newAccount(newID() + "@example.org")
		e.Target = "account " + hookshot.AuditNewID
		err := f.accounts().CreateAccount(f.ctx, a, e)
		return fmt.Sprintf("account %d", a.ID), err
	}},
	{"UpdateAccount", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.createAccount(newID() + "@example.org")
		a.Admin = true
		return e.Target, f.accounts().UpdateAccount(f.ctx, a, e)
	}},
	{"SetPassword", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.createAccount(newID() + "@example.org")
		return e.Target, f.accounts().SetPassword(f.ctx, a.ID, "new-hash", f.now, e)
	}},
	{"DeleteAccount", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.createAccount(newID() + "@example.org")
		return e.Target, f.accounts().DeleteAccount(f.ctx, a.ID, e)
	}},
	{"CreateToken", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.createAccount(newID() + "@example.org")
		tok := &hookshot.Token{AccountID: a.ID, Name: "ci", CreatedAt: f.now}
		e.Target = fmt.Sprintf("token %s of account %d", hookshot.AuditNewID, a.ID)
		err := f.accounts().CreateToken(f.ctx, tok, hashOf(newID()), e)
		return fmt.Sprintf("token %d of account %d", tok.ID, a.ID), err
	}},
	{"RevokeToken", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		a := f.createAccount(newID() + "@example.org")
		tok := f.createToken(a.ID, "ci", newID())
		_, err := f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.now, e)
		return e.Target, err
	}},
	{"RotateSigningKey", func(f *fixture, e *hookshot.AuditEntry) (string, error) {
		return e.Target, f.store.RotateSigningKey(f.ctx, f.newSigningKey(studyA, f.now), f.now, f.at(time.Hour), e)
	}},
}

// newEntry is an audit entry of the suite, every field set but ID.
func (f *fixture) newEntry() *hookshot.AuditEntry {
	return &hookshot.AuditEntry{At: f.at(-time.Second), Actor: "account:3 alice@example.org", Action: hookshot.AuditChanged,
		StudyID: studyA, Target: "thing 1", Detail: "what changed"}
}

// finishedDelivery is a delivery that failed its one attempt, to resend.
func (f *fixture) finishedDelivery() *hookshot.Delivery {
	f.t.Helper()
	w := f.createWebhook(studyA)
	d := f.enqueue(w, f.now)
	jobs := f.claimOnly("engine", f.now, d)
	f.record("engine", f.result(jobs[0], hookshot.DeliveryFailed, f.now))
	return d
}

// trail returns the whole audit trail, newest first.
func (f *fixture) trail() []*hookshot.AuditEntry {
	f.t.Helper()
	entries, err := f.accounts().Audit(f.ctx, hookshot.AuditFilter{})
	if err != nil {
		f.t.Fatalf("Audit: %v", err)
	}
	return entries
}

// Each audited change writes its entry, with its ID set and AuditNewID in
// a create's Target replaced by the new row's id, in the caller's struct
// and in the trail.
func testAuditEntryWithChange(t *testing.T, f *fixture) {
	for _, c := range auditedChanges {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, f.newStore)
			e := f.newEntry()
			target, err := c.do(f, e)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want := *f.newEntry()
			want.ID, want.Target = e.ID, target
			if e.ID == 0 {
				t.Errorf("%s left the entry's ID zero", c.name)
			}
			checkAudit(t, "entry after "+c.name, e, &want)
			trail := f.trail()
			if len(trail) == 0 || trail[0].ID != e.ID {
				t.Fatalf("audit trail %v does not start with the entry %d", auditIDs(trail), e.ID)
			}
			checkAudit(t, "stored entry", trail[0], &want)
		})
	}
}

// A call that changes nothing (an unknown thing, a taken email) writes no
// entry and leaves the caller's alone.
func testAuditNoEntryWithoutChange(t *testing.T, f *fixture) {
	w := f.createWebhook(studyA)
	f.createAccount("taken@example.org")
	unknown := int64(424242)
	calls := []struct {
		name string
		do   func(e *hookshot.AuditEntry) error
		want error
	}{
		{"UpdateWebhook in another study", func(e *hookshot.AuditEntry) error {
			moved := *w
			moved.StudyID = studyB
			return f.store.UpdateWebhook(f.ctx, &moved, nil, e)
		}, hookshot.ErrNotFound},
		{"DeleteWebhook unknown", func(e *hookshot.AuditEntry) error {
			return f.store.DeleteWebhook(f.ctx, studyA, unknown, e)
		}, hookshot.ErrNotFound},
		{"ResendDelivery unknown", func(e *hookshot.AuditEntry) error {
			_, err := f.store.ResendDelivery(f.ctx, w.ID, newID(), f.now, e)
			return err
		}, hookshot.ErrNotFound},
		{"CreateAccount with a taken email", func(e *hookshot.AuditEntry) error {
			return f.accounts().CreateAccount(f.ctx, f.newAccount("TAKEN@example.org"), e)
		}, hookshot.ErrConflict},
		{"UpdateAccount unknown", func(e *hookshot.AuditEntry) error {
			return f.accounts().UpdateAccount(f.ctx, &hookshot.Account{ID: unknown}, e)
		}, hookshot.ErrNotFound},
		{"SetPassword unknown", func(e *hookshot.AuditEntry) error {
			return f.accounts().SetPassword(f.ctx, unknown, "x", f.now, e)
		}, hookshot.ErrNotFound},
		{"DeleteAccount unknown", func(e *hookshot.AuditEntry) error {
			return f.accounts().DeleteAccount(f.ctx, unknown, e)
		}, hookshot.ErrNotFound},
		{"CreateToken for an unknown account", func(e *hookshot.AuditEntry) error {
			return f.accounts().CreateToken(f.ctx, &hookshot.Token{AccountID: unknown, Name: "x"}, hashOf("x"), e)
		}, hookshot.ErrNotFound},
		{"RevokeToken unknown", func(e *hookshot.AuditEntry) error {
			_, err := f.accounts().RevokeToken(f.ctx, unknown, unknown, f.now, e)
			return err
		}, hookshot.ErrNotFound},
	}
	for _, c := range calls {
		e := f.newEntry()
		wantErr(t, c.name, c.do(e), c.want)
		checkAudit(t, "entry after "+c.name, e, f.newEntry())
	}
	if trail := f.trail(); len(trail) != 0 {
		t.Errorf("calls that changed nothing wrote audit entries %v", auditIDs(trail))
	}
}

// Revoking a revoked token changes nothing, so its entry is not written.
func testAuditRevokeAgain(t *testing.T, f *fixture) {
	a := f.createAccount("kate@example.org")
	tok := f.createToken(a.ID, "ci", "s")
	first := f.newEntry()
	if _, err := f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.now, first); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	again := f.newEntry()
	got, err := f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.at(time.Hour), again)
	if err != nil {
		t.Fatalf("RevokeToken again: %v", err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(f.now) {
		t.Errorf("RevokeToken again: RevokedAt = %v, want the first revocation's %v", got.RevokedAt, f.now)
	}
	checkAudit(t, "entry of the second revocation", again, f.newEntry())
	if trail := f.trail(); len(trail) != 1 || trail[0].ID != first.ID {
		t.Errorf("audit trail = %v, want only the first revocation's entry %d", auditIDs(trail), first.ID)
	}
}
