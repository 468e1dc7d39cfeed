package service_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// Every text field of a webhook has a limit (SPEC §12), and a value over
// it is refused naming the field, on create and on edit, changing nothing.
func TestWebhookTextFieldsAreBounded(t *testing.T) {
	long := strings.Repeat("x", 1025)
	longURL := "https://receiver.example/" + strings.Repeat("p", 2049-len("https://receiver.example/"))
	okURL := "https://receiver.example/" + strings.Repeat("p", 2048-len("https://receiver.example/"))
	cases := []struct {
		name  string
		url   string
		auth  service.AuthInput
		field string
		say   string
	}{
		{"URL of 2,049 bytes", longURL, service.AuthInput{Type: hookshot.AuthNone}, "url", "2049 bytes long; at most 2048"},
		{"user name", okURL, service.AuthInput{Type: hookshot.AuthBasic, Username: long, Password: "pw"}, "auth.username", "at most 1024 bytes"},
		{"password", okURL, service.AuthInput{Type: hookshot.AuthBasic, Username: "u", Password: long}, "auth.password", "at most 1024 bytes"},
		{"secret", okURL, service.AuthInput{Type: hookshot.AuthHMAC, Secret: long}, "auth.secret", "at most 1024 bytes"},
		{"client id", okURL, service.AuthInput{Type: hookshot.AuthOAuth2, TokenURL: "https://idp.example/token", ClientID: long, ClientSecret: "s"}, "auth.client_id", "at most 1024 bytes"},
		{"client secret", okURL, service.AuthInput{Type: hookshot.AuthOAuth2, TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: long}, "auth.client_secret", "at most 1024 bytes"},
		{"scope", okURL, service.AuthInput{Type: hookshot.AuthOAuth2, TokenURL: "https://idp.example/token", ClientID: "c", ClientSecret: "s", Scope: long}, "auth.scope", "at most 1024 bytes"},
		{"token URL", okURL, service.AuthInput{Type: hookshot.AuthOAuth2, TokenURL: "https://idp.example/" + long, ClientID: "c", ClientSecret: "s"}, "auth.token_url", "at most 1024 bytes"},
		{"a NUL in a user name", okURL, service.AuthInput{Type: hookshot.AuthBasic, Username: "u\x00", Password: "pw"}, "auth.username", "control characters"},
		{"bad UTF-8 in a secret", okURL, service.AuthInput{Type: hookshot.AuthHMAC, Secret: "s\xff"}, "auth.secret", "UTF-8"},
		{"bad UTF-8 in a URL", "https://receiver.example/\xff", service.AuthInput{Type: hookshot.AuthNone}, "url", "UTF-8"},
	}
	f := newFixture(t)
	edited := f.webhook(t, 189)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				var e *hookshot.Error
				if !errors.As(err, &e) || e.Code != hookshot.EInvalid {
					t.Fatalf("%s: err = %v, want invalid", what, err)
				}
				for _, fe := range e.FieldErrors {
					if fe.Field == c.field && strings.Contains(fe.Message, c.say) {
						return
					}
				}
				t.Fatalf("%s: field errors %+v do not say %s %s", what, e.FieldErrors, c.field, c.say)
			}
			auth := c.auth
			_, err := f.webhooks.Create(t.Context(), root, 189, service.WebhookInput{URL: c.url, Auth: &auth, Events: []string{hookshot.EventUpload}})
			check("create", err)
			url := c.url
			_, err = f.webhooks.Update(t.Context(), root, 189, edited.ID, service.WebhookPatch{URL: &url, Auth: &auth})
			check("edit", err)
		})
	}
	hooks, err := f.webhooks.List(t.Context(), root, 189)
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].URL != edited.URL || hooks[0].Auth != edited.Auth || !hooks[0].UpdatedAt.Equal(edited.UpdatedAt) {
		t.Fatalf("refused input changed the webhooks: %+v", hooks)
	}
	// At the limits exactly, everything is accepted.
	at := strings.Repeat("y", 1024)
	if _, err := f.webhooks.Create(t.Context(), root, 189, service.WebhookInput{URL: okURL, Events: []string{hookshot.EventUpload},
		Auth: &service.AuthInput{Type: hookshot.AuthOAuth2, TokenURL: "https://idp.example/" + at[:1024-len("https://idp.example/")], ClientID: at, ClientSecret: at, Scope: at}}); err != nil {
		t.Fatalf("fields at their limits: %v", err)
	}
}
