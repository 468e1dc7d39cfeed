package service_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// The kinds of caller, for study 189.
var callers = []struct {
	name string
	p    *hookshot.Principal
}{
	{"admin", &hookshot.Principal{Name: "admin", Admin: true}},
	{"manager", &hookshot.Principal{Name: "manager", Manage: []int64{189}}},
	{"publisher", &hookshot.Principal{Name: "publisher", Publish: []int64{189}}},
	{"publisher of all", &hookshot.Principal{Name: "publisher of all", PublishAll: true}},
	{"manager elsewhere", &hookshot.Principal{Name: "manager elsewhere", Manage: []int64{190}, Publish: []int64{190}}},
	{"no grants", &hookshot.Principal{Name: "no grants"}},
	{"nobody", nil},
}

// A rule is what each kind of caller gets: "" for going ahead, or the
// refusal, which must read exactly as the API has always said it.
type rule map[string]refusal

type refusal struct {
	code    string
	message string
}

var (
	notSeen    = refusal{hookshot.ENotFound, "Study 189 does not exist, or you may not see it."}
	onlyPub    = refusal{hookshot.EForbidden, "You may publish events for study 189 but not manage its webhooks."}
	notAdmin   = refusal{hookshot.EForbidden, "Only administrators may manage accounts and tokens or read the audit trail."}
	manageRule = rule{
		"publisher": onlyPub, "publisher of all": onlyPub,
		"manager elsewhere": notSeen, "no grants": notSeen, "nobody": notSeen,
	}
	publishRule = rule{
		"manager":           {hookshot.EForbidden, "You manage study 189's webhooks but may not publish events for it; that takes a publisher token."},
		"manager elsewhere": {hookshot.ENotFound, `Study "189" does not exist, or you may not see it.`},
		"no grants":         {hookshot.ENotFound, `Study "189" does not exist, or you may not see it.`},
		"nobody":            {hookshot.ENotFound, `Study "189" does not exist, or you may not see it.`},
	}
	// Events are for everyone who sees the study: its managers and its
	// publishers.
	readEventsRule = rule{"manager elsewhere": notSeen, "no grants": notSeen, "nobody": notSeen}
	adminRule      = rule{
		"manager": notAdmin, "publisher": notAdmin, "publisher of all": notAdmin,
		"manager elsewhere": notAdmin, "no grants": notAdmin, "nobody": notAdmin,
	}
)

// target is what a case acts on, made afresh by its setup for each caller
// so that one caller's change cannot decide the next one's answer.
type target struct {
	webhook  *hookshot.Webhook
	delivery string
	event    string
	account  *hookshot.Account
	token    int64
}

// Every method that acts for a caller checks it first: each method of
// Webhooks, Events and Accounts against each kind of caller. A refused
// call answers the rule's error and changes nothing.
func TestEveryMethodChecksTheCaller(t *testing.T) {
	noSetup := func(t *testing.T, f *fixture) target { return target{} }
	withWebhook := func(t *testing.T, f *fixture) target { return target{webhook: f.webhook(t, 189)} }
	withFinished := func(t *testing.T, f *fixture) target {
		w := f.validatedWebhook(t, 189)
		return target{webhook: w, delivery: w.Validation.DeliveryID}
	}
	withEvent := func(t *testing.T, f *fixture) target {
		w := f.validatedWebhook(t, 189)
		pub, err := f.events.Publish(t.Context(), root, 189, service.PublishInput{Type: hookshot.EventUpload, Payload: uploadPayload(189)})
		if err != nil {
			t.Fatal(err)
		}
		return target{webhook: w, event: pub.Event.ID}
	}
	emails := 0
	newEmail := func() string {
		emails++
		return fmt.Sprintf("someone%d@example.org", emails)
	}
	withAccount := func(t *testing.T, f *fixture) target {
		a := f.account(t, service.AccountInput{Email: newEmail()})
		tok, _, err := f.accounts.CreateToken(t.Context(), root, a.ID, service.TokenInput{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		return target{account: a, token: tok.ID}
	}
	yes := true
	cases := []struct {
		name  string
		rule  rule
		setup func(t *testing.T, f *fixture) target
		call  func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error
	}{
		{"Webhooks.Authorize", manageRule, noSetup, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			return f.webhooks.Authorize(p, 189)
		}},
		{"Webhooks.List", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.webhooks.List(ctx, p, 189)
			return err
		}},
		{"Webhooks.Get", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.webhooks.Get(ctx, p, 189, tg.webhook.ID)
			return err
		}},
		{"Webhooks.Create", manageRule, noSetup, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.webhooks.Create(ctx, p, 189, service.WebhookInput{URL: "https://receiver.example/new", Events: []string{hookshot.EventUpload}})
			return err
		}},
		{"Webhooks.Update", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			url := "https://receiver.example/moved"
			_, err := f.webhooks.Update(ctx, p, 189, tg.webhook.ID, service.WebhookPatch{URL: &url})
			return err
		}},
		{"Webhooks.Validate", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.webhooks.Validate(ctx, p, 189, tg.webhook.ID)
			return err
		}},
		{"Webhooks.SetActive", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.webhooks.SetActive(ctx, p, 189, tg.webhook.ID, false)
			return err
		}},
		{"Webhooks.Delete", manageRule, withWebhook, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			return f.webhooks.Delete(ctx, p, 189, tg.webhook.ID)
		}},
		{"Events.Publish", publishRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.events.Publish(ctx, p, 189, service.PublishInput{Type: hookshot.EventUpload, Payload: uploadPayload(189)})
			return err
		}},
		{"Events.Deliveries", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.events.Deliveries(ctx, p, 189, tg.webhook.ID, service.DeliveryQuery{})
			return err
		}},
		{"Events.DeliveryHistories", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.events.DeliveryHistories(ctx, p, 189, tg.webhook.ID, service.DeliveryQuery{})
			return err
		}},
		{"Events.Delivery", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.events.Delivery(ctx, p, 189, tg.webhook.ID, tg.delivery)
			return err
		}},
		{"Events.Resend", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.events.Resend(ctx, p, 189, tg.webhook.ID, tg.delivery)
			return err
		}},
		{"Events.Recover", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.events.Recover(ctx, p, 189, tg.webhook.ID, service.Window{Since: f.clock.Now().Add(-time.Hour)})
			return err
		}},
		{"Events.Replay", manageRule, withFinished, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.events.Replay(ctx, p, 189, tg.webhook.ID, service.Window{Since: f.clock.Now().Add(-time.Hour)})
			return err
		}},
		{"Events.ListEvents", readEventsRule, withEvent, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.events.ListEvents(ctx, p, 189, service.EventQuery{})
			return err
		}},
		{"Events.Event", readEventsRule, withEvent, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.events.Event(ctx, p, 189, tg.event)
			return err
		}},
		{"Accounts.List", adminRule, noSetup, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.List(ctx, p)
			return err
		}},
		{"Accounts.Get", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.Get(ctx, p, tg.account.ID)
			return err
		}},
		{"Accounts.ByEmail", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.ByEmail(ctx, p, tg.account.Email)
			return err
		}},
		{"Accounts.Create", adminRule, noSetup, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.Create(ctx, p, service.AccountInput{Email: newEmail(), Admin: true})
			return err
		}},
		{"Accounts.Update", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.Update(ctx, p, tg.account.ID, service.AccountPatch{Admin: &yes})
			return err
		}},
		{"Accounts.Delete", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			return f.accounts.Delete(ctx, p, tg.account.ID)
		}},
		{"Accounts.CreateToken", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.accounts.CreateToken(ctx, p, tg.account.ID, service.TokenInput{Name: "mine now"})
			return err
		}},
		{"Accounts.Tokens", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.Tokens(ctx, p, tg.account.ID)
			return err
		}},
		{"Accounts.RevokeToken", adminRule, withAccount, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, err := f.accounts.RevokeToken(ctx, p, tg.account.ID, tg.token)
			return err
		}},
		{"Accounts.Audit", adminRule, noSetup, func(ctx context.Context, f *fixture, p *hookshot.Principal, tg target) error {
			_, _, err := f.accounts.Audit(ctx, p, service.AuditQuery{})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			for _, caller := range callers {
				tg := c.setup(t, f)
				before := f.snapshot(t)
				err := c.call(t.Context(), f, caller.p, tg)
				want, refused := c.rule[caller.name]
				if !refused {
					if err != nil {
						t.Errorf("%s: %v, want it to go ahead", caller.name, err)
					}
					continue
				}
				if hookshot.ErrorCode(err) != want.code || hookshot.ErrorMessage(err) != want.message {
					t.Errorf("%s: %v (%s), want %s %q", caller.name, err, hookshot.ErrorCode(err), want.code, want.message)
				}
				if after := f.snapshot(t); !reflect.DeepEqual(before, after) {
					t.Errorf("%s: the refused call changed the store:\nbefore %+v\nafter  %+v", caller.name, before, after)
				}
			}
		})
	}
}

// state is everything a refused call could have changed.
type state struct {
	Webhooks   []*hookshot.Webhook
	Deliveries map[int64][]*hookshot.Delivery
	Accounts   []*hookshot.Account
	Tokens     map[int64][]*hookshot.Token
	Audit      []*hookshot.AuditEntry
}

func (f *fixture) snapshot(t *testing.T) state {
	t.Helper()
	ctx := t.Context()
	var s state
	var err error
	s.Deliveries = map[int64][]*hookshot.Delivery{}
	for _, study := range []int64{189, 190} {
		hooks, err := f.store.Webhooks(ctx, study)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range hooks {
			if s.Deliveries[w.ID], err = f.store.Deliveries(ctx, hookshot.DeliveryFilter{WebhookID: w.ID, Limit: 1000}); err != nil {
				t.Fatal(err)
			}
		}
		s.Webhooks = append(s.Webhooks, hooks...)
	}
	if s.Accounts, err = f.store.Accounts(ctx); err != nil {
		t.Fatal(err)
	}
	s.Tokens = map[int64][]*hookshot.Token{}
	for _, a := range s.Accounts {
		if s.Tokens[a.ID], err = f.store.Tokens(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if s.Audit, err = f.store.Audit(ctx, hookshot.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	return s
}
