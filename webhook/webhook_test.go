package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	knownSecret    = "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
	knownBody      = `{"Test":"Value"}`
	knownSignature = "Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaQ="
)

func TestSignKnownAnswer(t *testing.T) {
	if got := Sign(knownSecret, []byte(knownBody)); got != knownSignature {
		t.Fatalf("Sign = %s, want %s", got, knownSignature)
	}
	if err := Verify(knownSecret, []byte(knownBody), knownSignature); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// vectors are what the independent checks below sign.
var vectors = []struct {
	name, secret string
	body         []byte
}{
	{"known answer", knownSecret, []byte(knownBody)},
	{"empty body", "s3cret", nil},
	{"upload fixture", "s3cret", []byte(`{"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}`)},
	{"non-ASCII secret and body", "clé-秘密-🔑", []byte("{\"message\":\"échec ✗\"}\n")},
	{"binary body", "k", []byte{0, 1, 2, 0xff, 0xfe, '\n', '\r', '%', '\\'}},
	{"secret longer than a SHA-256 block", strings.Repeat("long secret ", 12), []byte("body")},
	{"secret like a flag", "-binary", []byte("x")},
}

// Our signer against OpenSSL, an implementation that shares no code with
// Go's: `openssl dgst -sha256 -hmac KEY -binary | base64`.
func TestSignMatchesOpenSSL(t *testing.T) {
	requireTools(t, "openssl", "base64", "sh")
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			// The key goes through the environment, so no shell quoting
			// can change its bytes.
			want, err := run(t, v.body, []string{"HMAC_KEY=" + v.secret}, "sh", "-c", `openssl dgst -sha256 -hmac "$HMAC_KEY" -binary | base64`)
			if err != nil {
				t.Fatalf("openssl: %v", err)
			}
			if got := Sign(v.secret, v.body); got != want {
				t.Fatalf("Sign = %s, openssl says %s", got, want)
			}
			if err := Verify(v.secret, v.body, want); err != nil {
				t.Fatalf("Verify(openssl's signature): %v", err)
			}
		})
	}
}

// hmacSHA256 is HMAC written out from RFC 2104 on crypto/sha256 alone, a
// second opinion that does not go through crypto/hmac.
func hmacSHA256(key, msg []byte) []byte {
	const block = 64
	if len(key) > block {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	k := make([]byte, block)
	copy(k, key)
	inner, outer := make([]byte, block), make([]byte, block)
	for i := range k {
		inner[i] = k[i] ^ 0x36
		outer[i] = k[i] ^ 0x5c
	}
	in := sha256.Sum256(append(inner, msg...))
	out := sha256.Sum256(append(outer, in[:]...))
	return out[:]
}

func TestSignMatchesRFC2104(t *testing.T) {
	for _, v := range vectors {
		want := base64.StdEncoding.EncodeToString(hmacSHA256([]byte(v.secret), v.body))
		if got := Sign(v.secret, v.body); got != want {
			t.Errorf("%s: Sign = %s, RFC 2104 gives %s", v.name, got, want)
		}
	}
}

// RFC 4231's published HMAC-SHA256 test cases.
func TestSignRFC4231(t *testing.T) {
	cases := []struct{ key, data, hex string }{
		{strings.Repeat("\x0b", 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{strings.Repeat("\xaa", 131), "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	}
	for i, c := range cases {
		mac, err := base64.StdEncoding.DecodeString(Sign(c.key, []byte(c.data)))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(mac); got != c.hex {
			t.Errorf("case %d: %s, want %s", i, got, c.hex)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(knownBody)
	padless := strings.TrimRight(knownSignature, "=")
	// The same MAC with the last character's unused low bits set: lenient
	// base64 decoders accept it, Verify must not.
	variant := knownSignature[:len(knownSignature)-2] + "R="
	cases := []struct {
		name, secret string
		body         []byte
		signature    string
		want         error
	}{
		{"valid", knownSecret, body, knownSignature, nil},
		{"tampered body", knownSecret, []byte(`{"Test":"Valuf"}`), knownSignature, ErrInvalidSignature},
		{"body with trailing newline", knownSecret, append(body, '\n'), knownSignature, ErrInvalidSignature},
		{"re-encoded body", knownSecret, []byte(`{"Test": "Value"}`), knownSignature, ErrInvalidSignature},
		{"empty body", knownSecret, nil, knownSignature, ErrInvalidSignature},
		{"tampered signature", knownSecret, body, "Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaR=", ErrInvalidSignature},
		{"non-canonical base64", knownSecret, body, variant, ErrInvalidSignature},
		{"wrong secret", knownSecret + "x", body, knownSignature, ErrInvalidSignature},
		{"secret in the wrong case", strings.ToLower(knownSecret), body, knownSignature, ErrInvalidSignature},
		{"missing padding", knownSecret, body, padless, ErrInvalidSignature},
		{"URL-safe alphabet", knownSecret, body, base64.URLEncoding.EncodeToString(hmacSHA256([]byte("k"), body)), ErrInvalidSignature},
		{"hex instead of base64", knownSecret, body, hex.EncodeToString(hmacSHA256([]byte(knownSecret), body)), ErrInvalidSignature},
		{"with a prefix", knownSecret, body, "sha256=" + knownSignature, ErrInvalidSignature},
		{"surrounding space", knownSecret, body, " " + knownSignature, ErrInvalidSignature},
		{"not base64", knownSecret, body, "!!!", ErrInvalidSignature},
		{"missing signature", knownSecret, body, "", ErrMissingSignature},
		{"empty secret", "", body, Sign("", body), ErrNoSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.secret, c.body, c.signature); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func signedRequest(secret, event, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
	r.Header.Set(HeaderEvent, event)
	r.Header.Set(HeaderSignature, Sign(secret, []byte(body)))
	return r
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestVerifyRequest(t *testing.T) {
	const secret = "s3cret"
	testRequestVerifier(t, func(r *http.Request) ([]byte, error) { return VerifyRequest(r, secret) },
		func(body string) *http.Request { return signedRequest(secret, "upload", body) },
		func(r *http.Request) { r.Header.Del(HeaderSignature) })
	t.Run("header in another case", func(t *testing.T) {
		body := `{}`
		r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
		r.Header["x-actigraph-signature"] = nil
		r.Header.Set("x-actigraph-signature", Sign(secret, []byte(body)))
		if _, err := VerifyRequest(r, secret); err != nil {
			t.Fatalf("VerifyRequest: %v", err)
		}
	})
}

// testRequestVerifier runs the checks every way of verifying a request
// passes: verify is the way, request makes a request signed for it with
// the given body, and unsign takes the signature off.
func testRequestVerifier(t *testing.T, verify func(*http.Request) ([]byte, error), request func(body string) *http.Request, unsign func(*http.Request)) {
	t.Helper()
	body := `{"status":"completed","studyId":"189"}`
	t.Run("valid", func(t *testing.T) {
		r := request(body)
		got, err := verify(r)
		if err != nil || string(got) != body {
			t.Fatalf("VerifyRequest = %q, %v", got, err)
		}
		again, err := io.ReadAll(r.Body)
		if err != nil || string(again) != body {
			t.Fatalf("r.Body afterwards = %q, %v; want the body again", again, err)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		r := request(body)
		r.Body = io.NopCloser(strings.NewReader(body + " "))
		if _, err := verify(r); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("VerifyRequest = %v, want ErrInvalidSignature", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		r := request(body)
		unsign(r)
		r.Body = io.NopCloser(failingReader{}) // not even read
		if _, err := verify(r); !errors.Is(err, ErrMissingSignature) {
			t.Fatalf("VerifyRequest = %v, want ErrMissingSignature", err)
		}
	})
	t.Run("no body", func(t *testing.T) {
		r := request("")
		r.Body = nil
		got, err := verify(r)
		if err != nil || len(got) != 0 {
			t.Fatalf("VerifyRequest = %q, %v", got, err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := verify(request(strings.Repeat("x", MaxBodySize+1))); !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("VerifyRequest = %v, want ErrBodyTooLarge", err)
		}
		if _, err := verify(request(strings.Repeat("x", MaxBodySize))); err != nil {
			t.Fatalf("VerifyRequest at the limit: %v", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		r := request(body)
		r.Body = io.NopCloser(failingReader{})
		_, err := verify(r)
		if err == nil || !strings.Contains(err.Error(), "connection reset") || errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("VerifyRequest = %v, want the read error", err)
		}
	})
}

func TestAnswerValidation(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if AnswerValidation(w, r) {
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	t.Run("validation", func(t *testing.T) {
		r := signedRequest("k", EventValidation, `{"WebhookId":"74","ValidationCode":"abc123"}`)
		r.Header.Set(HeaderHookSecret, "abc123")
		if !IsValidation(r) {
			t.Fatal("IsValidation = false")
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Header().Get(HeaderHookSecret) != "abc123" {
			t.Fatalf("answered %d with %s %q", w.Code, HeaderHookSecret, w.Header().Get(HeaderHookSecret))
		}
	})
	t.Run("event", func(t *testing.T) {
		r := signedRequest("k", "upload", `{}`)
		r.Header.Set(HeaderHookSecret, "abc123")
		if IsValidation(r) {
			t.Fatal("IsValidation = true")
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted || w.Header().Get(HeaderHookSecret) != "" {
			t.Fatalf("AnswerValidation wrote to an event's response: %d %v", w.Code, w.Header())
		}
	})
	t.Run("over the wire", func(t *testing.T) {
		srv := httptest.NewServer(handler)
		defer srv.Close()
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		// As Hookshot sends them: the names in its spelling.
		req.Header[HeaderEvent] = []string{EventValidation}
		req.Header[HeaderHookSecret] = []string{"wire-code"}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderHookSecret) != "wire-code" {
			t.Fatalf("answered %d with %q", resp.StatusCode, resp.Header.Get(HeaderHookSecret))
		}
	})
}

func TestValidationRequestJSON(t *testing.T) {
	b, err := json.Marshal(ValidationRequest{WebhookID: "74", ValidationCode: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"WebhookId":"74","ValidationCode":"abc"}`; string(b) != want {
		t.Fatalf("%s, want %s", b, want)
	}
}

func TestHeaderNames(t *testing.T) {
	// Receivers written against CentrePoint's documentation look for
	// exactly these names.
	want := map[string]string{
		HeaderSignature:      "X-ActiGraph-Signature",
		HeaderEvent:          "X-ActiGraph-Event",
		HeaderDelivery:       "X-ActiGraph-Delivery",
		HeaderWebhookID:      "X-ActiGraph-Webhook-Id",
		HeaderHookSecret:     "X-ActiGraph-Hook-Secret",
		HeaderClientCertUsed: "X-Client-Cert-Used",
		EventValidation:      "validation",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("%s, want %s", got, w)
		}
	}
}

// Receivers import this package; it must not bring dependencies along.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, which is not in the standard library", name, path)
			}
		}
	}
}
