package hookshot

import (
	"crypto/ed25519"
	"encoding/base64"
	"testing"
)

// The kid is the RFC 7638 thumbprint: RFC 8037's appendix A.3 gives it for
// its example key.
func TestKeyID(t *testing.T) {
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := KeyID(ed25519.PublicKey(x)), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("KeyID = %s, want %s", got, want)
	}
}
