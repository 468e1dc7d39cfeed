package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/hookshot/hookshot/webhook"
)

// The known answers in the receivers' guide are recomputed here, by this
// package and by crypto/hmac directly, so that the guide cannot drift.
func TestReceiversGuideKnownAnswers(t *testing.T) {
	doc, err := os.ReadFile("../docs/receivers.md")
	if err != nil {
		t.Fatal(err)
	}
	type vector struct{ secret, body, signature string }
	var vectors []vector
	var v vector
	for _, line := range strings.Split(string(doc), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimLeft(value, " ")
		switch key {
		case "secret":
			v = vector{secret: value}
		case "body":
			v.body = value
		case "signature":
			v.signature = value
			vectors = append(vectors, v)
		}
	}
	if len(vectors) < 2 {
		t.Fatalf("found %d known answers in docs/receivers.md, want at least 2", len(vectors))
	}
	for _, v := range vectors {
		if v.secret == "" || v.body == "" {
			t.Errorf("incomplete known answer %+v", v)
			continue
		}
		if got := webhook.Sign(v.secret, []byte(v.body)); got != v.signature {
			t.Errorf("webhook.Sign(%q, %q) = %s, the guide says %s", v.secret, v.body, got, v.signature)
		}
		m := hmac.New(sha256.New, []byte(v.secret))
		m.Write([]byte(v.body))
		if got := base64.StdEncoding.EncodeToString(m.Sum(nil)); got != v.signature {
			t.Errorf("HMAC-SHA256 of %q with %q = %s, the guide says %s", v.body, v.secret, got, v.signature)
		}
	}
}
