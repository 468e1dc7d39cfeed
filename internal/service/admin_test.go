package service_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

func TestStudiesShowsWhatTheCallerManages(t *testing.T) {
	f := newFixture(t)
	f.webhook(t, 5)
	f.webhook(t, 5)
	f.webhook(t, 9)
	all, err := f.webhooks.Studies(t.Context(), root)
	want := []hookshot.StudySummary{{StudyID: 5, Webhooks: 2, Active: 2}, {StudyID: 9, Webhooks: 1, Active: 1}}
	if err != nil || !reflect.DeepEqual(all, want) {
		t.Fatalf("admin's Studies = %+v, %v; want %+v", all, err, want)
	}
	manager := &hookshot.Principal{Name: "m", Manage: []int64{9, 12}}
	mine, err := f.webhooks.Studies(t.Context(), manager)
	if err != nil || !reflect.DeepEqual(mine, want[1:]) {
		t.Fatalf("manager's Studies = %+v, %v; want study 9 only", mine, err)
	}
	publisher := &hookshot.Principal{Name: "p", PublishAll: true}
	if got, err := f.webhooks.Studies(t.Context(), publisher); err != nil || len(got) != 0 {
		t.Fatalf("publisher's Studies = %+v, %v; want none", got, err)
	}
}

func TestAuditFiltersByActorAndAction(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.account(t, service.AccountInput{Email: "alice@example.org", Admin: true})
	asAlice := alice.Principal()
	if _, err := f.accounts.Create(ctx, asAlice, service.AccountInput{Email: "bob@example.org"}); err != nil {
		t.Fatal(err)
	}
	entries, _, err := f.accounts.Audit(ctx, root, service.AuditQuery{Actor: " ALICE@example.org ", Action: hookshot.AuditCreated})
	if err != nil || len(entries) != 1 || entries[0].Actor != asAlice.Name || entries[0].Detail == "" {
		t.Fatalf("Audit by actor and action = %+v, %v; want alice's one entry", entries, err)
	}
	for _, q := range []service.AuditQuery{{Action: "create"}, {Actor: strings.Repeat("a", 301)}, {Actor: "al\xffice"}, {Actor: "a\x00b"}} {
		if _, _, err := f.accounts.Audit(ctx, root, q); hookshot.ErrorCode(err) != hookshot.EMalformed {
			t.Errorf("Audit(%+v) = %v; want malformed", q, err)
		}
	}
	if _, _, err := f.accounts.Audit(ctx, &hookshot.Principal{Name: "m", Manage: []int64{5}}, service.AuditQuery{}); hookshot.ErrorCode(err) != hookshot.EForbidden {
		t.Errorf("non-admin Audit = %v; want forbidden", err)
	}
}
