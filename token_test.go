package hookshot_test

import (
	"slices"
	"testing"

	"github.com/hookshot/hookshot"
)

func TestTokenPrincipalIsWithinItsAccount(t *testing.T) {
	manager := &hookshot.Account{ID: 3, Email: "m@example.org", Manage: []int64{189, 191}, Publish: []int64{189}}
	admin := &hookshot.Account{ID: 4, Email: "a@example.org", Admin: true}
	cases := []struct {
		name    string
		account *hookshot.Account
		roles   *hookshot.TokenRoles
		want    hookshot.Principal
	}{
		{"no roles: the account's", manager, nil,
			hookshot.Principal{Manage: []int64{189, 191}, Publish: []int64{189}}},
		{"narrowed to one study", manager, &hookshot.TokenRoles{Manage: []int64{191}},
			hookshot.Principal{Manage: []int64{191}}},
		{"roles the account lost are dropped", manager, &hookshot.TokenRoles{Manage: []int64{189, 190}, Publish: []int64{191}, PublishAll: true, Admin: true},
			hookshot.Principal{Manage: []int64{189}}},
		{"an admin's narrowed token is no admin", admin, &hookshot.TokenRoles{Manage: []int64{7}, PublishAll: true},
			hookshot.Principal{Manage: []int64{7}, PublishAll: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := (&hookshot.Token{Roles: tc.roles}).Principal(tc.account)
			if got.AccountID != tc.account.ID || got.Name != hookshot.AccountActor(tc.account.ID, tc.account.Email) {
				t.Errorf("principal names %d %q, want the account", got.AccountID, got.Name)
			}
			want := tc.want
			if tc.roles == nil {
				want.Admin = tc.account.Admin
			}
			if got.Admin != want.Admin || got.PublishAll != want.PublishAll || !slices.Equal(got.Manage, want.Manage) || !slices.Equal(got.Publish, want.Publish) {
				t.Errorf("principal = %+v, want roles %+v", got, want)
			}
		})
	}
}
