package storetest

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// RunAuditFailure checks that a change whose audit entry cannot be written
// is not made: every method that takes an entry fails and changes nothing,
// and the same call without an entry then succeeds, so the failure was the
// entry's. newStore returns a fresh store, as Run's does, and breakAudit,
// which makes every later insert into that store's audit trail fail for
// real (a trigger that raises an error, say):
//
//	func TestAuditFailure(t *testing.T) {
//		storetest.RunAuditFailure(t, func(t *testing.T) (hookshot.Store, func(t *testing.T)) { ... })
//	}
func RunAuditFailure(t *testing.T, newStore func(t *testing.T) (store hookshot.Store, breakAudit func(t *testing.T))) {
	for _, c := range auditFailures {
		t.Run(c.name, func(t *testing.T) {
			var breakAudit func(t *testing.T)
			f := newFixture(t, func(t *testing.T) hookshot.Store {
				s, b := newStore(t)
				breakAudit = b
				return s
			})
			change, unchanged := c.setUp(f)
			breakAudit(t)
			e := f.newEntry()
			if err := change(e); err == nil {
				t.Fatalf("%s succeeded though its audit entry could not be written", c.name)
			}
			checkAudit(t, "entry after the failed "+c.name, e, f.newEntry())
			unchanged()
			if err := change(nil); err != nil {
				t.Fatalf("%s without an audit entry: %v", c.name, err)
			}
			if trail := f.trail(); len(trail) != 0 {
				t.Errorf("audit trail holds %v, though every insert into it fails", auditIDs(trail))
			}
		})
	}
}

// auditFailure is one method that takes an audit entry: setUp creates what
// it needs and returns the change, and unchanged, which checks that the
// change was not made.
type auditFailure struct {
	name  string
	setUp func(f *fixture) (change auditedCall, unchanged func())
}

// auditedCall is a call of a method that takes an audit entry.
type auditedCall = func(e *hookshot.AuditEntry) error

var auditFailures = []auditFailure{
	{"RotateSigningKey", func(f *fixture) (auditedCall, func()) {
		old := f.newSigningKey(studyA, f.at(-time.Hour))
		if _, err := f.store.EnsureSigningKey(f.ctx, old); err != nil {
			f.t.Fatal(err)
		}
		change := func(e *hookshot.AuditEntry) error {
			return f.store.RotateSigningKey(f.ctx, f.newSigningKey(studyA, f.now), f.now, f.at(time.Hour), e)
		}
		unchanged := func() {
			f.wantKeys("SigningKeys after the failed rotation", f.signingKeys(studyA, f.at(2*time.Hour)), old)
		}
		return change, unchanged
	}},
	{"CreateWebhook", func(f *fixture) (auditedCall, func()) {
		change := func(e *hookshot.AuditEntry) error {
			w := f.newWebhook(studyA)
			return f.store.CreateWebhook(f.ctx, w, f.newValidation(w), e)
		}
		unchanged := func() {
			if list, err := f.store.Webhooks(f.ctx, studyA); err != nil || len(list) != 0 {
				f.t.Errorf("Webhooks after the failed create = %d, %v; want none", len(list), err)
			}
			// Nor is the validation delivery there to claim.
			f.claimOnly("engine", f.at(time.Hour))
		}
		return change, unchanged
	}},
	{"UpdateWebhook", func(f *fixture) (auditedCall, func()) {
		w := f.createWebhook(studyA)
		stored := *w
		change := func(e *hookshot.AuditEntry) error {
			edit := stored
			edit.URL, edit.Active, edit.UpdatedAt = "https://changed.example/", false, f.at(time.Minute)
			return f.store.UpdateWebhook(f.ctx, &edit, f.newValidation(&edit), e)
		}
		unchanged := func() {
			checkWebhook(f.t, "Webhook after the failed update", f.webhook(studyA, w.ID), &stored)
			if list := f.list(hookshot.DeliveryFilter{WebhookID: w.ID}); len(list) != 0 {
				f.t.Errorf("the failed update left validation deliveries %v", deliveryIDs(list))
			}
		}
		return change, unchanged
	}},
	{"DeleteWebhook", func(f *fixture) (auditedCall, func()) {
		w := f.createWebhook(studyA)
		d := f.enqueue(w, f.now)
		change := func(e *hookshot.AuditEntry) error {
			return f.store.DeleteWebhook(f.ctx, studyA, w.ID, e)
		}
		unchanged := func() {
			checkWebhook(f.t, "Webhook after the failed delete", f.webhook(studyA, w.ID), w)
			f.delivery(w.ID, d.ID)
		}
		return change, unchanged
	}},
	{"ResendDelivery", func(f *fixture) (auditedCall, func()) {
		d := f.finishedDelivery()
		stored, _ := f.delivery(d.WebhookID, d.ID)
		change := func(e *hookshot.AuditEntry) error {
			_, err := f.store.ResendDelivery(f.ctx, d.WebhookID, d.ID, f.at(time.Hour), e)
			return err
		}
		unchanged := func() {
			got, _ := f.delivery(d.WebhookID, d.ID)
			checkDelivery(f.t, "delivery after the failed resend", got, stored)
		}
		return change, unchanged
	}},
	{"CreateAccount", func(f *fixture) (auditedCall, func()) {
		change := func(e *hookshot.AuditEntry) error {
			return f.accounts().CreateAccount(f.ctx, f.newAccount("new@example.org"), e)
		}
		unchanged := func() {
			if list, err := f.accounts().Accounts(f.ctx); err != nil || len(list) != 0 {
				f.t.Errorf("Accounts after the failed create = %d, %v; want none", len(list), err)
			}
		}
		return change, unchanged
	}},
	{"UpdateAccount", func(f *fixture) (auditedCall, func()) {
		a := f.createAccount("dave@example.org")
		change := func(e *hookshot.AuditEntry) error {
			edit := *a
			edit.Admin, edit.Manage, edit.UpdatedAt = true, []int64{studyA}, f.at(time.Minute)
			return f.accounts().UpdateAccount(f.ctx, &edit, e)
		}
		unchanged := func() {
			f.wantAccount(a)
		}
		return change, unchanged
	}},
	{"SetPassword", func(f *fixture) (auditedCall, func()) {
		a := f.createAccount("erin@example.org")
		f.createSession(a.ID, "signed in", f.now, f.at(time.Hour))
		change := func(e *hookshot.AuditEntry) error {
			return f.accounts().SetPassword(f.ctx, a.ID, "new-hash", f.at(time.Minute), e)
		}
		unchanged := func() {
			f.wantAccount(a)
			if _, _, err := f.accounts().SessionByHash(f.ctx, hashOf("signed in")); err != nil {
				f.t.Errorf("the failed SetPassword signed the account out: %v", err)
			}
		}
		return change, unchanged
	}},
	{"DeleteAccount", func(f *fixture) (auditedCall, func()) {
		a := f.createAccount("frank@example.org")
		tok := f.createToken(a.ID, "ci", "frank's")
		change := func(e *hookshot.AuditEntry) error {
			return f.accounts().DeleteAccount(f.ctx, a.ID, e)
		}
		unchanged := func() {
			f.wantAccount(a)
			f.wantToken("frank's", tok)
		}
		return change, unchanged
	}},
	{"CreateToken", func(f *fixture) (auditedCall, func()) {
		a := f.createAccount("henry@example.org")
		change := func(e *hookshot.AuditEntry) error {
			return f.accounts().CreateToken(f.ctx, &hookshot.Token{AccountID: a.ID, Name: "ci"}, hashOf("henry's"), e)
		}
		unchanged := func() {
			if list, err := f.accounts().Tokens(f.ctx, a.ID); err != nil || len(list) != 0 {
				f.t.Errorf("Tokens after the failed create = %d, %v; want none", len(list), err)
			}
		}
		return change, unchanged
	}},
	{"RevokeToken", func(f *fixture) (auditedCall, func()) {
		a := f.createAccount("kate@example.org")
		tok := f.createToken(a.ID, "ci", "kate's")
		change := func(e *hookshot.AuditEntry) error {
			_, err := f.accounts().RevokeToken(f.ctx, a.ID, tok.ID, f.at(time.Minute), e)
			return err
		}
		unchanged := func() {
			f.wantToken("kate's", tok)
		}
		return change, unchanged
	}},
	{"AppendAudit", func(f *fixture) (auditedCall, func()) {
		change := func(e *hookshot.AuditEntry) error {
			if e == nil {
				return nil // nothing to append, nothing to fail
			}
			return f.accounts().AppendAudit(f.ctx, e)
		}
		return change, func() {}
	}},
}

// wantAccount fails unless the stored account is want.
func (f *fixture) wantAccount(want *hookshot.Account) {
	f.t.Helper()
	got, err := f.accounts().Account(f.ctx, want.ID)
	if err != nil {
		f.t.Fatalf("Account(%d): %v", want.ID, err)
	}
	checkAccount(f.t, "stored account", got, want)
}

// wantToken fails unless the token with secret is stored as want.
func (f *fixture) wantToken(secret string, want *hookshot.Token) {
	f.t.Helper()
	got, _, err := f.accounts().TokenByHash(f.ctx, hashOf(secret))
	if err != nil {
		f.t.Fatalf("TokenByHash: %v", err)
	}
	checkToken(f.t, "stored token", got, want)
}
