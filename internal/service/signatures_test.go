package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/webhook"
)

// hmacWebhook creates a validated hmac webhook of study 189 in format.
func (f *fixture) hmacWebhook(t *testing.T, format, secret string) *hookshot.Webhook {
	t.Helper()
	w, err := f.webhooks.Create(context.Background(), root, 189, service.WebhookInput{URL: "https://receiver.example/hook",
		Format: format, Auth: &service.AuthInput{Type: hookshot.AuthHMAC, Secret: secret}, Events: []string{hookshot.EventUpload}})
	if err != nil {
		t.Fatal(err)
	}
	f.finishDue(t)
	got, err := f.store.Webhook(context.Background(), 189, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) credentials(t *testing.T, id int64) (hookshot.Credentials, *hookshot.Webhook) {
	t.Helper()
	w, err := f.store.Webhook(context.Background(), 189, id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.box.Open(w.SealedCredentials)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// A rotation keeps the old secret for the overlap without a new
// validation; a second rotation during it makes the replaced secret the
// previous one; overlap 0 keeps none.
func TestRotateSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w := f.hmacWebhook(t, "", "first")
	validation := w.Validation.DeliveryID

	rotated, generated, err := f.webhooks.RotateSecret(ctx, root, 189, w.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if webhook.CheckStandardSecret(generated) != nil {
		t.Fatalf("generated %q, want a whsec_ secret", generated)
	}
	creds, stored := f.credentials(t, w.ID)
	if creds.Secret != generated || creds.PreviousSecret != "first" {
		t.Fatalf("stored secret %q, previous %q", creds.Secret, creds.PreviousSecret)
	}
	if want := start.Add(time.Hour); stored.PreviousSecretUntil == nil || !stored.PreviousSecretUntil.Equal(want) || !rotated.PreviousSecretUntil.Equal(want) {
		t.Fatalf("overlap until %v, want %v", stored.PreviousSecretUntil, want)
	}
	if stored.Validation.DeliveryID != validation || stored.Validation.Status != hookshot.ValidationPassed {
		t.Fatalf("the rotation touched the validation: %+v", stored.Validation)
	}

	f.clock.Advance(time.Minute)
	if _, g, err := f.webhooks.RotateSecret(ctx, root, 189, w.ID, "third", 2*time.Hour); err != nil || g != "" {
		t.Fatalf("rotating to a given secret: %q, %v", g, err)
	}
	creds, stored = f.credentials(t, w.ID)
	if creds.Secret != "third" || creds.PreviousSecret != generated {
		t.Fatalf("after a second rotation: secret %q, previous %q", creds.Secret, creds.PreviousSecret)
	}
	if want := start.Add(time.Minute + 2*time.Hour); !stored.PreviousSecretUntil.Equal(want) {
		t.Fatalf("the second overlap ends %v, want %v", stored.PreviousSecretUntil, want)
	}

	// An edit that keeps the secret keeps the overlap; a new secret ends it.
	if _, err := f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Auth: &service.AuthInput{Type: hookshot.AuthHMAC}}); err != nil {
		t.Fatal(err)
	}
	if creds, stored = f.credentials(t, w.ID); creds.PreviousSecret != generated || stored.PreviousSecretUntil == nil {
		t.Fatalf("an edit keeping the secret dropped the overlap: %q, %v", creds.PreviousSecret, stored.PreviousSecretUntil)
	}
	if _, err := f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Auth: &service.AuthInput{Type: hookshot.AuthHMAC, Secret: "fourth"}}); err != nil {
		t.Fatal(err)
	}
	if creds, stored = f.credentials(t, w.ID); creds.PreviousSecret != "" || stored.PreviousSecretUntil != nil {
		t.Fatalf("a new secret kept the overlap: %q, %v", creds.PreviousSecret, stored.PreviousSecretUntil)
	}

	if _, _, err := f.webhooks.RotateSecret(ctx, root, 189, w.ID, "fifth", 0); err != nil {
		t.Fatal(err)
	}
	if creds, stored = f.credentials(t, w.ID); creds.Secret != "fifth" || creds.PreviousSecret != "" || stored.PreviousSecretUntil != nil {
		t.Fatalf("overlap 0: %+v, until %v", creds, stored.PreviousSecretUntil)
	}

	trail, err := f.store.Audit(ctx, hookshot.AuditFilter{StudyID: 189})
	if err != nil {
		t.Fatal(err)
	}
	rotations := 0
	for _, e := range trail {
		if e.Action == hookshot.AuditSecretRotated {
			rotations++
		}
	}
	if rotations != 3 {
		t.Errorf("%d rotations in the audit trail, want 3", rotations)
	}
}

// What a rotation refuses, changing nothing.
func TestRotateSecretRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	actigraph := f.hmacWebhook(t, "", "first")
	standard := f.hmacWebhook(t, webhook.FormatStandard, webhook.NewSecret())
	none := f.validatedWebhook(t, 189)
	cases := []struct {
		name    string
		id      int64
		secret  string
		overlap time.Duration
		code    string
	}{
		{"no secret to rotate", none.ID, "", time.Hour, hookshot.EInvalid},
		{"the same secret", actigraph.ID, "first", time.Hour, hookshot.EInvalid},
		{"no whsec_ in format standard", standard.ID, "plain", time.Hour, hookshot.EInvalid},
		{"a negative overlap", actigraph.ID, "", -time.Second, hookshot.EInvalid},
		{"too long an overlap", actigraph.ID, "", service.MaxOverlap + time.Second, hookshot.EInvalid},
		{"another study's webhook", 9999, "", time.Hour, hookshot.ENotFound},
	}
	for _, c := range cases {
		before, _ := f.credentials(t, actigraph.ID)
		if _, _, err := f.webhooks.RotateSecret(ctx, root, 189, c.id, c.secret, c.overlap); hookshot.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
		if after, _ := f.credentials(t, actigraph.ID); after != before {
			t.Errorf("%s changed the credentials", c.name)
		}
	}
	manager := &hookshot.Principal{Name: "other", Manage: []int64{190}}
	if _, _, err := f.webhooks.RotateSecret(ctx, manager, 189, actigraph.ID, "", time.Hour); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Errorf("another study's manager: %v, want not found", err)
	}
	if _, err := f.webhooks.RotateSigningKey(ctx, manager, 189, time.Hour); hookshot.ErrorCode(err) != hookshot.ENotFound {
		t.Errorf("another study's manager rotating the signing key: %v, want not found", err)
	}
}

// The study's key is made when the first ed25519 webhook needs it, and a
// format change runs validation again.
func TestEd25519KeyOnFirstNeed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if keys, _ := f.webhooks.SigningKeys(ctx, 189); len(keys) != 0 {
		t.Fatalf("a study with no ed25519 webhook has %d keys", len(keys))
	}
	w := f.hmacWebhook(t, "", "first")
	if _, err := f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Auth: &service.AuthInput{Type: hookshot.AuthEd25519}}); hookshot.ErrorCode(err) != hookshot.EInvalid {
		t.Fatalf("ed25519 in format actigraph: %v, want invalid", err)
	}
	standard := webhook.FormatStandard
	updated, err := f.webhooks.Update(ctx, root, 189, w.ID, service.WebhookPatch{Format: &standard, Auth: &service.AuthInput{Type: hookshot.AuthEd25519}})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Validation.Status != hookshot.ValidationPending || updated.Validation.DeliveryID == w.Validation.DeliveryID {
		t.Errorf("a new format and authentication did not start a validation: %+v", updated.Validation)
	}
	keys, err := f.webhooks.SigningKeys(ctx, 189)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after the first ed25519 webhook: %d, %v", len(keys), err)
	}
	if private, err := f.box.OpenPrivateKey(keys[0].SealedPrivateKey); err != nil || !keys[0].PublicKey.Equal(private.Public()) {
		t.Fatalf("the stored key does not open to its own private half: %v", err)
	}
	if hookshot.KeyID(keys[0].PublicKey) != keys[0].ID {
		t.Errorf("kid %s is not the key's thumbprint", keys[0].ID)
	}
}
