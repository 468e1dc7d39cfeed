package webhook

import (
	"errors"
	"testing"
)

// FuzzSignVerify: a signature always verifies for its own body and secret,
// and changing any byte of the body or the signature always breaks it.
func FuzzSignVerify(f *testing.F) {
	f.Add(knownSecret, []byte(knownBody), uint(0), byte(1))
	f.Add("s", []byte{}, uint(7), byte(0x80))
	f.Add("clé", []byte("{\"x\":\"\xff\"}"), uint(3), byte(0xff))
	f.Fuzz(func(t *testing.T, secret string, body []byte, at uint, flip byte) {
		if flip == 0 {
			flip = 1
		}
		sig := Sign(secret, body)
		err := Verify(secret, body, sig)
		if secret == "" {
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("Verify with an empty secret = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Verify(Sign(...)) = %v", err)
		}
		if len(body) > 0 {
			changed := append([]byte(nil), body...)
			changed[at%uint(len(changed))] ^= flip
			if err := Verify(secret, changed, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("a changed body verified: %v", err)
			}
		}
		forged := []byte(sig)
		forged[at%uint(len(forged))] ^= flip
		if err := Verify(secret, body, string(forged)); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("a changed signature %q verified: %v", forged, err)
		}
		if err := Verify(secret+"x", body, sig); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("another secret verified: %v", err)
		}
	})
}
