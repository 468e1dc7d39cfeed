package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RFC 8037, appendix A: the Ed25519 key of A.1 (RFC 8032's first test
// key), its public half as A.2 gives it, and the JWS of A.4 signed with it.
const (
	rfc8037Seed         = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037PublicJWK    = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	rfc8037SigningInput = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	rfc8037Signature    = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	// RFC 8032, 7.1, TEST 1: the same key in hex.
	rfc8032Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

func TestParseJWKSRFC8037(t *testing.T) {
	keys, err := ParseJWKS([]byte(`{"keys":[` + rfc8037PublicJWK + `]}`))
	if err != nil || len(keys) != 1 {
		t.Fatalf("ParseJWKS = %v, %v", keys, err)
	}
	if got := hex.EncodeToString(keys[0].Key); got != rfc8032Public || keys[0].ID != "" {
		t.Fatalf("key %q %s, want RFC 8032's %s", keys[0].ID, got, rfc8032Public)
	}
	signature, err := base64.RawURLEncoding.DecodeString(rfc8037Signature)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(keys[0].Key, []byte(rfc8037SigningInput), signature) {
		t.Fatal("RFC 8037's signature does not verify under the parsed key")
	}

	// The same key through a Verifier, for a request signed with its
	// private half.
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037Seed)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := SignEd25519(ed25519.NewKeyFromSeed(seed), "msg_1", testNow, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	v := Verifier{Keys: keys, Now: fixedNow}
	if err := v.Verify(standardHeader("msg_1", strconv.FormatInt(testNow.Unix(), 10), entry), []byte(`{}`)); err != nil {
		t.Fatalf("Verify = %v", err)
	}
}

func TestParseJWKS(t *testing.T) {
	const x1 = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	x2 := base64.RawURLEncoding.EncodeToString(testKey(2).Public().(ed25519.PublicKey))
	ed := func(kid, x string, extra ...string) string {
		return `{"kty":"OKP","crv":"Ed25519","kid":"` + kid + `","x":"` + x + `"` + strings.Join(extra, "") + `}`
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	rsa := `{"kty":"RSA","kid":"r1","use":"sig","alg":"RS256","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}`
	cases := []struct {
		name string
		jwks string
		kids []string // want these keys, in order
		says string   // or an error saying this
	}{
		{"one key", set(ed("k1", x1)), []string{"k1"}, ""},
		{"two keys in their order", set(ed("new", x2), ed("old", x1)), []string{"new", "old"}, ""},
		{"use sig and alg EdDSA", set(ed("k1", x1, `,"use":"sig","alg":"EdDSA"`)), []string{"k1"}, ""},
		{"alg Ed25519 (RFC 9864)", set(ed("k1", x1, `,"alg":"Ed25519"`)), []string{"k1"}, ""},
		{"key_ops and x5t are ignored", set(ed("k1", x1, `,"key_ops":["verify"],"x5t":"abc"`)), []string{"k1"}, ""},
		{"no kid", set(rfc8037PublicJWK), []string{""}, ""},
		{"an RSA key is skipped", set(rsa, ed("k1", x1)), []string{"k1"}, ""},
		{"an EC key is skipped", set(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`, ed("k1", x1)), []string{"k1"}, ""},
		{"X25519 is skipped", set(`{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`), nil, ""},
		{"Ed448 is skipped", set(`{"kty":"OKP","crv":"Ed448","x":"X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"}`), nil, ""},
		{"an encryption key is skipped", set(ed("enc", x1, `,"use":"enc"`), ed("sig", x2)), []string{"sig"}, ""},
		{"a key of a future type, with odd members", set(`{"kty":"PQC","x":5,"kid":[1]}`, ed("k1", x1)), []string{"k1"}, ""},
		{"no keys", `{"keys":[]}`, nil, ""},
		{"other members", `{"keys":[],"cache":"1h"}`, nil, ""},
		{"not JSON", `keys: []`, nil, "invalid character"},
		{"trailing data", set(ed("k1", x1)) + "x", nil, "invalid character"},
		{"an array", `[` + ed("k1", x1) + `]`, nil, "cannot unmarshal array"},
		{"no keys member", `{"key":[]}`, nil, `no "keys" array`},
		{"null keys", `{"keys":null}`, nil, `no "keys" array`},
		{"keys not an array", `{"keys":{}}`, nil, "cannot unmarshal object"},
		{"a key that is a string", set(`"k1"`), nil, "keys[0]"},
		{"no kty", set(`{"crv":"Ed25519","x":"` + x1 + `"}`), nil, `keys[0]: no "kty"`},
		{"kty not a string", set(`{"kty":1,"crv":"Ed25519","x":"` + x1 + `"}`), nil, "keys[0]"},
		{"no x", set(ed("k1", x1), `{"kty":"OKP","crv":"Ed25519","kid":"k2"}`), nil, `keys[1]: Ed25519 key "k2" has no "x"`},
		{"x padded", set(ed("k1", x1+"=")), nil, `"x" is not base64url without padding`},
		{"x in standard base64", set(ed("k1", strings.NewReplacer("_", "/", "-", "+").Replace(x2))), nil, "not base64url"},
		{"x with unused bits set", set(ed("k1", x1[:42]+"p")), nil, "not base64url"},
		{"x with a line break", set(ed("k1", x1[:20]+`\n`+x1[20:])), nil, `"x" contains a line break`},
		{"x of 31 bytes", set(ed("k1", base64.RawURLEncoding.EncodeToString(make([]byte, 31)))), nil, `"x" holds 31 bytes, not 32`},
		{"x of 33 bytes", set(ed("k1", base64.RawURLEncoding.EncodeToString(make([]byte, 33)))), nil, "33 bytes"},
		{"x a number", set(`{"kty":"OKP","crv":"Ed25519","x":5}`), nil, "keys[0]"},
		{"kid a number", set(`{"kty":"OKP","crv":"Ed25519","kid":7,"x":"` + x1 + `"}`), nil, "keys[0]"},
		{"a private key", set(ed("k1", x1, `,"d":"`+rfc8037Seed+`"`)), nil, `Ed25519 key "k1" has a private part ("d")`},
		{"alg RS256", set(ed("k1", x1, `,"alg":"RS256"`)), nil, `"alg" "RS256", not EdDSA`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := ParseJWKS([]byte(c.jwks))
			if c.says != "" {
				if !errors.Is(err, ErrMalformedJWKS) || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("ParseJWKS = %v, %v; want ErrMalformedJWKS saying %q", keys, err, c.says)
				}
				if strings.Contains(err.Error(), rfc8037Seed) {
					t.Fatalf("the error shows the private key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKS: %v", err)
			}
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.ID)
				if len(k.Key) != ed25519.PublicKeySize {
					t.Fatalf("key %q is %d bytes", k.ID, len(k.Key))
				}
			}
			if strings.Join(kids, ",") != strings.Join(c.kids, ",") || len(kids) != len(c.kids) {
				t.Fatalf("ParseJWKS gave kids %q, want %q", kids, c.kids)
			}
		})
	}
}

// A key rotation as a receiver lives it: the JWKS holds the old key, then
// both, then the new one; each request verifies against the set read last.
func TestJWKSRotation(t *testing.T) {
	oldKey, newKey := testKey(7), testKey(8)
	jwk := func(kid string, k ed25519.PrivateKey) string {
		return `{"kty":"OKP","crv":"Ed25519","use":"sig","alg":"EdDSA","kid":"` + kid + `","x":"` + base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey)) + `"}`
	}
	body := []byte(`{"studyId":"189"}`)
	sign := func(keys ...ed25519.PrivateKey) string {
		var entries []string
		for _, k := range keys {
			e, err := SignEd25519(k, "d-7", testNow, body)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, e)
		}
		return strings.Join(entries, " ")
	}
	steps := []struct {
		name   string
		jwks   string
		signed string
		ok     bool
	}{
		{"before", `{"keys":[` + jwk("a", oldKey) + `]}`, sign(oldKey), true},
		{"overlap, set not yet refreshed", `{"keys":[` + jwk("a", oldKey) + `]}`, sign(oldKey, newKey), true},
		{"overlap", `{"keys":[` + jwk("a", oldKey) + `,` + jwk("b", newKey) + `]}`, sign(oldKey, newKey), true},
		{"after, set refreshed", `{"keys":[` + jwk("b", newKey) + `]}`, sign(newKey), true},
		{"after, a stale set", `{"keys":[` + jwk("a", oldKey) + `]}`, sign(newKey), false},
		{"the old key's signature after", `{"keys":[` + jwk("b", newKey) + `]}`, sign(oldKey), false},
	}
	for _, s := range steps {
		keys, err := ParseJWKS([]byte(s.jwks))
		if err != nil {
			t.Fatal(err)
		}
		v := Verifier{Keys: keys, Format: FormatStandard, Now: func() time.Time { return testNow }}
		err = v.Verify(standardHeader("d-7", strconv.FormatInt(testNow.Unix(), 10), s.signed), body)
		if s.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidSignature)) {
			t.Errorf("%s: Verify = %v", s.name, err)
		}
	}
}
