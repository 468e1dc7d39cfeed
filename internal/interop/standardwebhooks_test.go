package interop

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookshot/hookshot/webhook"
)

// vector is one message to sign in format standard.
type vector struct {
	name, secret, id string
	body             []byte
}

// vectors are fixed cases, then random ones from a seeded source, so a
// failure can be run again.
func vectors(n int) []vector {
	v := []vector{
		{"published vector", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", []byte(`{"test": 2432232314}`)},
		{"empty body", webhook.NewSecret(), "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", nil},
		{"upload fixture", webhook.NewSecret(), "3f0c9c8e-1d2b-4a5f-9e7d-6c5b4a392817", []byte(`{"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}`)},
		{"non-ASCII body", webhook.NewSecret(), "x", []byte("{\"message\":\"échec ✗ 🔑\"}\n")},
		{"64-byte key", "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfe}, 64)), "id_-:~", []byte(`[1,2,3]`)},
		{"24-byte key", "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0}, 24)), "a", []byte(`"a string"`)},
	}
	r := rand.New(rand.NewPCG(12, 2027))
	const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:~"
	for i := range n {
		key := make([]byte, 24+r.IntN(41))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		id := make([]byte, 1+r.IntN(40))
		for j := range id {
			id[j] = idChars[r.IntN(len(idChars))]
		}
		body := fmt.Sprintf(`{"n":%d,"text":%q}`, r.Int64(), strings.Repeat("é✓ ", r.IntN(50)))
		v = append(v, vector{fmt.Sprintf("random %d", i), "whsec_" + base64.StdEncoding.EncodeToString(key), string(id), []byte(body)})
	}
	return v
}

func standardHeader(id string, at time.Time, signatures ...string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderStandardID, id)
	h.Set(webhook.HeaderStandardTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(webhook.HeaderStandardSignature, strings.Join(signatures, " "))
	return h
}

func theirs(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	return wh
}

// Our signatures verify with the Standard Webhooks Go library, theirs
// with our Verifier, and both sign the same bytes.
func TestStandardWebhooksGoLibrary(t *testing.T) {
	now := time.Now()
	for _, v := range vectors(200) {
		t.Run(v.name, func(t *testing.T) {
			wh := theirs(t, v.secret)
			ours, err := webhook.SignStandard(v.secret, v.id, now, v.body)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(v.body, standardHeader(v.id, now, ours)); err != nil {
				t.Fatalf("the library refuses our %s: %v", ours, err)
			}
			if err := wh.Verify(append(append([]byte{}, v.body...), ' '), standardHeader(v.id, now, ours)); err == nil {
				t.Fatal("the library accepts our signature for a changed body: the check proves nothing")
			}

			sig, err := wh.Sign(v.id, now, v.body)
			if err != nil {
				t.Fatal(err)
			}
			if sig != ours {
				t.Fatalf("the library signs %s, we sign %s", sig, ours)
			}
			verifier := webhook.Verifier{Secrets: []string{v.secret}, Format: webhook.FormatStandard}
			if err := verifier.Verify(standardHeader(v.id, now, sig), v.body); err != nil {
				t.Fatalf("Verify(the library's signature) = %v", err)
			}
		})
	}
}

// During a rotation Hookshot sends both secrets' signatures in one header:
// the library verifies it knowing either secret, and refuses it knowing
// another.
func TestStandardWebhooksGoLibraryRotation(t *testing.T) {
	oldSecret, newSecret := webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"status":"completed","studyId":"189"}`)
	now := time.Now()
	var signatures []string
	for _, s := range []string{oldSecret, newSecret} {
		sig, err := webhook.SignStandard(s, "d-1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		signatures = append(signatures, sig)
	}
	h := standardHeader("d-1", now, signatures...)
	for _, s := range []string{oldSecret, newSecret} {
		if err := theirs(t, s).Verify(body, h); err != nil {
			t.Fatalf("the library refuses the rotation header: %v", err)
		}
	}
	if err := theirs(t, webhook.NewSecret()).Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("the library with another secret = %v", err)
	}
}

// Both refuse a timestamp outside five minutes, either way, and accept
// one inside.
func TestStandardWebhooksGoLibraryTolerance(t *testing.T) {
	secret := webhook.NewSecret()
	body := []byte(`{}`)
	cases := []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true},
		{-4 * time.Minute, true},
		{4 * time.Minute, true},
		{-6 * time.Minute, false},
		{6 * time.Minute, false},
		{-24 * time.Hour, false},
	}
	for _, c := range cases {
		at := time.Now().Add(c.offset)
		sig, err := webhook.SignStandard(secret, "d-2", at, body)
		if err != nil {
			t.Fatal(err)
		}
		h := standardHeader("d-2", at, sig)
		theirErr := theirs(t, secret).Verify(body, h)
		v := webhook.Verifier{Secrets: []string{secret}}
		ourErr := v.Verify(h, body)
		if (theirErr == nil) != c.ok || (ourErr == nil) != c.ok {
			t.Errorf("signed %s from now: the library says %v, we say %v", c.offset, theirErr, ourErr)
		}
		if !c.ok && !errors.Is(ourErr, webhook.ErrTimestampOutsideTolerance) {
			t.Errorf("signed %s from now: %v, want ErrTimestampOutsideTolerance", c.offset, ourErr)
		}
	}
}
