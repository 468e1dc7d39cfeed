package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/hookshot/hookshot"
)

func TestSealPrivateKey(t *testing.T) {
	b := newBox(t)
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.SealPrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, private.Seed()) {
		t.Fatal("the sealed key holds the seed in the clear")
	}
	opened, err := b.OpenPrivateKey(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !private.Equal(opened) {
		t.Fatal("the opened key is not the sealed one")
	}

	t.Run("opening again gives the key kept", func(t *testing.T) {
		again, err := b.OpenPrivateKey(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if &again[0] != &opened[0] {
			t.Fatal("the key was opened afresh, not kept")
		}
	})
	t.Run("another box cannot open it", func(t *testing.T) {
		if _, err := newBox(t).OpenPrivateKey(sealed); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("OpenPrivateKey with another key: %v, want ErrCannotOpen", err)
		}
	})
	t.Run("a changed byte does not open", func(t *testing.T) {
		changed := bytes.Clone(sealed)
		changed[len(changed)-1] ^= 1
		if _, err := b.OpenPrivateKey(changed); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("OpenPrivateKey of a changed key: %v, want ErrCannotOpen", err)
		}
	})
	t.Run("credentials and keys do not open as each other", func(t *testing.T) {
		creds, err := b.Seal(hookshot.Credentials{Secret: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.OpenPrivateKey(creds); err == nil {
			t.Fatal("sealed credentials opened as a signing key")
		}
		if _, err := b.Open(sealed); err == nil {
			t.Fatal("a sealed signing key opened as credentials")
		}
	})
}
