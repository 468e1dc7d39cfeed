package storetest

import (
	"reflect"
	"testing"

	"github.com/hookshot/hookshot"
)

// adminTests are what the admin pages read: the studies that have
// webhooks, and the audit trail by actor and action.
var adminTests = []test{
	{"Studies", testStudies},
	{"StudiesEmpty", testStudiesEmpty},
	{"AuditByActorAndAction", testAuditByActorAndAction},
}

// Studies counts each study's webhooks and active ones, by study id; a
// study whose last webhook was deleted is gone from the list.
func testStudies(t *testing.T, f *fixture) {
	f.createWebhook(studyB)
	f.createWebhook(studyB, func(w *hookshot.Webhook) { w.Active = false })
	f.createWebhook(studyB, func(w *hookshot.Webhook) { w.Active = false })
	f.createWebhook(studyA)
	gone := f.createWebhook(7)
	if err := f.store.DeleteWebhook(f.ctx, 7, gone.ID, nil); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	got, err := f.store.Studies(f.ctx)
	if err != nil {
		t.Fatalf("Studies: %v", err)
	}
	want := []hookshot.StudySummary{
		{StudyID: studyA, Webhooks: 1, Active: 1},
		{StudyID: studyB, Webhooks: 3, Active: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Studies = %+v; want %+v", got, want)
	}
}

func testStudiesEmpty(t *testing.T, f *fixture) {
	got, err := f.store.Studies(f.ctx)
	if err != nil || len(got) != 0 {
		t.Errorf("Studies of an empty store = %+v, %v; want none", got, err)
	}
}

// Actor matches a part of the actor without regard to case, with LIKE's
// wildcards taken literally; Action matches exactly; both combine with
// the study and the page.
func testAuditByActorAndAction(t *testing.T, f *fixture) {
	alice := "account:3 alice_x@example.org"
	a1 := f.audit(hookshot.AuditEntry{Actor: alice, Action: hookshot.AuditCreated, StudyID: studyA, Target: "webhook 1"})
	a2 := f.audit(hookshot.AuditEntry{Actor: alice, Action: hookshot.AuditDeleted, StudyID: studyA, Target: "webhook 1"})
	a3 := f.audit(hookshot.AuditEntry{Actor: alice, Action: hookshot.AuditCreated, Target: "account 9"})
	f.audit(hookshot.AuditEntry{Actor: "account:4 aliceyx@example.org", Action: hookshot.AuditCreated, StudyID: studyA, Target: "webhook 2"})
	f.audit(hookshot.AuditEntry{Actor: "admin-token", Action: hookshot.AuditCreated, StudyID: studyA, Target: "webhook 3"})
	f.audit(hookshot.AuditEntry{Actor: "100%", Action: hookshot.AuditChanged, Target: "account 9"})
	for _, tc := range []struct {
		name   string
		filter hookshot.AuditFilter
		want   []*hookshot.AuditEntry
	}{
		{"actor in another case", hookshot.AuditFilter{Actor: "ALICE_X@Example.org"}, []*hookshot.AuditEntry{a3, a2, a1}},
		{"actor and action", hookshot.AuditFilter{Actor: "alice_x", Action: hookshot.AuditCreated}, []*hookshot.AuditEntry{a3, a1}},
		{"actor, action and study", hookshot.AuditFilter{Actor: "alice_x", Action: hookshot.AuditCreated, StudyID: studyA}, []*hookshot.AuditEntry{a1}},
		{"actor paged", hookshot.AuditFilter{Actor: "alice_x", Before: a3.ID, Limit: 1}, []*hookshot.AuditEntry{a2}},
		{"action only", hookshot.AuditFilter{Action: hookshot.AuditDeleted}, []*hookshot.AuditEntry{a2}},
		{"percent taken literally", hookshot.AuditFilter{Actor: "1%0"}, nil},
		{"no such action", hookshot.AuditFilter{Action: "creat"}, nil},
	} {
		got, err := f.accounts().Audit(f.ctx, tc.filter)
		if err != nil {
			t.Fatalf("%s: Audit: %v", tc.name, err)
		}
		if !reflect.DeepEqual(auditIDs(got), auditIDs(tc.want)) {
			t.Errorf("%s: Audit = %v; want %v", tc.name, auditIDs(got), auditIDs(tc.want))
		}
	}
	if got, err := f.accounts().Audit(f.ctx, hookshot.AuditFilter{Actor: "100%"}); err != nil || len(got) != 1 {
		t.Errorf("Audit(actor 100%%) = %v, %v; want the one entry", auditIDs(got), err)
	}
}
