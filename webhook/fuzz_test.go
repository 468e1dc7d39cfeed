package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

// FuzzVerifierStandard: whatever the headers and body, Verify does not
// panic, returns one of the package's errors, and accepts only a request
// whose webhook-signature holds the one true signature of the id,
// timestamp and body; a request signed with SignStandard or SignEd25519
// always verifies, and stops verifying when the body changes.
func FuzzVerifierStandard(f *testing.F) {
	f.Add(swID, strconv.Itoa(swUnix), swSignature, []byte(swBody))
	f.Add(swID, strconv.Itoa(swUnix), ",,, v1,not,base64  "+swEd25519Signature, []byte(swBody))
	f.Add("0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", "0", "v1a,AAAA v2,x", []byte{})
	f.Add("a.b", "-1", "v1,"+strings.Repeat("A", 43)+"=", []byte("x"))
	f.Add("", "01", "v1", []byte(nil))
	f.Add("id", "9223372036854775808", strings.Repeat("v1,x ", 17), []byte("{}"))
	secret, key := swSecret, swKey(f)
	sentinels := []error{ErrMissingSignature, ErrMalformedHeader, ErrInvalidSignature}
	f.Fuzz(func(t *testing.T, id, timestamp, signatures string, body []byte) {
		at := testNow
		if ts, err := parseTimestamp(timestamp); err == nil {
			at = ts
		}
		v := Verifier{Secrets: []string{secret}, Keys: []PublicKey{publicKey("k", key)}, Now: func() time.Time { return at }}
		h := http.Header{}
		for name, value := range map[string]string{HeaderStandardID: id, HeaderStandardTimestamp: timestamp, HeaderStandardSignature: signatures} {
			if value != "" {
				h.Set(name, value)
			}
		}
		err := v.Verify(h, body)
		validID, validTimestamp := checkID(id) == nil, at != testNow || timestamp == strconv.FormatInt(testNow.Unix(), 10)
		if err == nil {
			hmacSig, _ := SignStandard(secret, id, at, body)
			edSig, _ := SignEd25519(key, id, at, body)
			if !slices.Contains(strings.Fields(signatures), hmacSig) && !slices.Contains(strings.Fields(signatures), edSig) {
				t.Fatalf("Verify accepted %q for id %q, timestamp %q", signatures, id, timestamp)
			}
		} else if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("Verify = %v, not one of the package's errors", err)
		}
		if !validID || !validTimestamp {
			if err == nil {
				t.Fatalf("Verify accepted id %q, timestamp %q", id, timestamp)
			}
			return
		}
		for _, sign := range []func() (string, error){
			func() (string, error) { return SignStandard(secret, id, at, body) },
			func() (string, error) { return SignEd25519(key, id, at, body) },
		} {
			sig, err := sign()
			if err != nil {
				t.Fatalf("signing id %q at %q: %v", id, timestamp, err)
			}
			signed := standardHeader(id, timestamp, sig)
			if err := v.Verify(signed, body); err != nil {
				t.Fatalf("Verify(%s) = %v", sig, err)
			}
			if err := v.Verify(signed, append(append([]byte{}, body...), 0)); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("a changed body verified: %v", err)
			}
		}
	})
}

// FuzzParseJWKS: no input makes ParseJWKS panic; it either refuses with
// ErrMalformedJWKS or returns keys of the right size.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[` + rfc8037PublicJWK + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":null}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR="}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseJWKS(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedJWKS) || keys != nil {
				t.Fatalf("ParseJWKS = %v, %v", keys, err)
			}
			return
		}
		for _, k := range keys {
			if len(k.Key) != ed25519.PublicKeySize {
				t.Fatalf("key %q is %d bytes", k.ID, len(k.Key))
			}
		}
	})
}

// FuzzCheckStandardSecret: a secret is accepted in exactly one spelling,
// so what CheckStandardSecret accepts is what encoding its key gives back.
func FuzzCheckStandardSecret(f *testing.F) {
	f.Add(swSecret)
	f.Add(NewSecret())
	f.Add("whsec_" + strings.Repeat("A", 43) + "B")
	f.Add("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==")
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Fuzz(func(t *testing.T, secret string) {
		key, err := standardKey(secret)
		if err != nil {
			if !errors.Is(err, ErrMalformedSecret) {
				t.Fatalf("standardKey = %v", err)
			}
			return
		}
		if again := "whsec_" + base64.StdEncoding.EncodeToString(key); again != secret || len(key) < 24 || len(key) > 64 {
			t.Fatalf("accepted %q, whose %d-byte key encodes as %q", secret, len(key), again)
		}
	})
}
