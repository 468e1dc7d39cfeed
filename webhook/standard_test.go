package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks project's published test vector, the same in the
// tests of each of its libraries (Go, JavaScript, Python, Java, C#...),
// and the Ed25519 one of its Go library's asymmetric tests.
const (
	swSecret           = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swID               = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	swUnix             = 1614265330
	swBody             = `{"test": 2432232314}`
	swSignature        = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	swSeed             = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
	swEd25519Signature = "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)

func swKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	seed, err := base64.StdEncoding.DecodeString(swSeed)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func TestSignStandardPublishedVector(t *testing.T) {
	got, err := SignStandard(swSecret, swID, time.Unix(swUnix, 0), []byte(swBody))
	if err != nil || got != swSignature {
		t.Fatalf("SignStandard = %q, %v; want %s", got, err, swSignature)
	}
	// The time zone and the fraction of a second do not matter.
	got, _ = SignStandard(swSecret, swID, time.Unix(swUnix, 999_999_999).In(time.FixedZone("UTC+9", 9*3600)), []byte(swBody))
	if got != swSignature {
		t.Fatalf("SignStandard at another zone and nanosecond = %s", got)
	}
}

func TestSignEd25519PublishedVector(t *testing.T) {
	got, err := SignEd25519(swKey(t), swID, time.Unix(swUnix, 0), []byte(swBody))
	if err != nil || got != swEd25519Signature {
		t.Fatalf("SignEd25519 = %q, %v; want %s", got, err, swEd25519Signature)
	}
}

// standardVectors are what the checks against other implementations sign.
var standardVectors = []struct {
	name, secret, id string
	unix             int64
	body             []byte
}{
	{"published vector", swSecret, swID, swUnix, []byte(swBody)},
	{"empty body", "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6", 1_800_000_000, nil},
	{"upload fixture", "whsec_" + base64.StdEncoding.EncodeToString([]byte("a 24-byte secret, exactl")), "3f0c9c8e-1d2b-4a5f-9e7d-6c5b4a392817", 1, []byte(`{"status":"started","uploadId":"85045","subjectId":"44732","studyId":"189"}`)},
	{"64-byte key, non-ASCII body", "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff, 0}, 32)), "x", 0, []byte("{\"message\":\"échec ✗\"}\n")},
	{"binary body", "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'+'}, 40)), "id_with-odd:chars~", 9_999_999_999, []byte{0, 1, 2, 0xff, '.', '\n'}},
}

func TestSignStandardMatchesRFC2104(t *testing.T) {
	for _, v := range standardVectors {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v.secret, "whsec_"))
		if err != nil {
			t.Fatal(err)
		}
		message := append([]byte(v.id+"."+strconv.FormatInt(v.unix, 10)+"."), v.body...)
		want := "v1," + base64.StdEncoding.EncodeToString(hmacSHA256(key, message))
		if got, err := SignStandard(v.secret, v.id, time.Unix(v.unix, 0), v.body); err != nil || got != want {
			t.Errorf("%s: SignStandard = %s, %v; RFC 2104 gives %s", v.name, got, err, want)
		}
	}
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH: %v", tool, err)
		}
	}
}

func run(t *testing.T, stdin []byte, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), errors.New(err.Error() + ": " + stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// The HMAC of format standard against OpenSSL, with the decoded key in hex.
func TestSignStandardMatchesOpenSSL(t *testing.T) {
	requireTools(t, "openssl", "base64", "sh")
	for _, v := range standardVectors {
		t.Run(v.name, func(t *testing.T) {
			key, err := standardKey(v.secret)
			if err != nil {
				t.Fatal(err)
			}
			message := append([]byte(v.id+"."+strconv.FormatInt(v.unix, 10)+"."), v.body...)
			out, err := run(t, message, []string{"HMAC_KEY=" + hex.EncodeToString(key)},
				"sh", "-c", `openssl dgst -sha256 -mac HMAC -macopt "hexkey:$HMAC_KEY" -binary | base64`)
			if err != nil {
				t.Fatalf("openssl: %v", err)
			}
			if got, _ := SignStandard(v.secret, v.id, time.Unix(v.unix, 0), v.body); got != "v1,"+out {
				t.Fatalf("SignStandard = %s, openssl says v1,%s", got, out)
			}
		})
	}
}

// Ed25519 against OpenSSL (pkeyutl -rawin, OpenSSL 3): OpenSSL verifies
// our signatures, refuses a changed message, and signs exactly as we do
// (Ed25519 is deterministic), which our Verifier accepts.
func TestSignEd25519MatchesOpenSSL(t *testing.T) {
	requireTools(t, "openssl")
	dir := t.TempDir()
	key := swKey(t)
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "priv.pem")
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
	write(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))

	for i, v := range standardVectors {
		t.Run(v.name, func(t *testing.T) {
			entry, err := SignEd25519(key, v.id, time.Unix(v.unix, 0), v.body)
			if err != nil {
				t.Fatal(err)
			}
			signature, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(entry, "v1a,"))
			if err != nil {
				t.Fatal(err)
			}
			sigFile, msgFile := filepath.Join(dir, strconv.Itoa(i)+".sig"), filepath.Join(dir, strconv.Itoa(i)+".msg")
			write(sigFile, signature)
			message := append([]byte(v.id+"."+strconv.FormatInt(v.unix, 10)+"."), v.body...)
			write(msgFile, message)
			if out, err := run(t, nil, nil, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", msgFile, "-sigfile", sigFile); err != nil {
				t.Fatalf("openssl refuses our signature: %v %s", err, out)
			}
			write(msgFile, append(message, ' '))
			if _, err := run(t, nil, nil, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", msgFile, "-sigfile", sigFile); err == nil {
				t.Fatal("openssl accepted our signature for a changed message: the check proves nothing")
			}

			write(msgFile, message)
			theirs, err := run(t, nil, nil, "sh", "-c", `openssl pkeyutl -sign -inkey "$0" -rawin -in "$1" | base64 -w0`, priv, msgFile)
			if err != nil {
				t.Fatalf("openssl sign: %v", err)
			}
			if "v1a,"+theirs != entry {
				t.Fatalf("openssl signs v1a,%s, we sign %s", theirs, entry)
			}
			h := standardHeader(v.id, strconv.FormatInt(v.unix, 10), "v1a,"+theirs)
			vf := Verifier{Keys: []PublicKey{{Key: key.Public().(ed25519.PublicKey)}}, Now: func() time.Time { return time.Unix(v.unix, 0) }}
			if err := vf.Verify(h, v.body); err != nil {
				t.Fatalf("Verify(openssl's signature): %v", err)
			}
		})
	}
}

func TestSignRefusesBadInput(t *testing.T) {
	good := time.Unix(1_800_000_000, 0)
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n)) }
	cases := []struct {
		name, secret, id string
		at               time.Time
		want             error  // nil: any error, no sentinel
		says             string // part of the message
	}{
		{"no prefix", strings.TrimPrefix(swSecret, "whsec_"), swID, good, ErrMalformedSecret, `does not start with "whsec_"`},
		{"an actigraph secret", "s3cret", swID, good, ErrMalformedSecret, "whsec_"},
		{"prefix only", "whsec_", swID, good, ErrMalformedSecret, "0 bytes"},
		{"not base64", "whsec_not*base64", swID, good, ErrMalformedSecret, "not standard padded base64"},
		{"URL-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), swID, good, ErrMalformedSecret, "base64"},
		{"padding left off", "whsec_" + strings.TrimRight(b64(32), "="), swID, good, ErrMalformedSecret, "base64"},
		{"unused bits set", "whsec_" + b64(32)[:42] + "V=", swID, good, ErrMalformedSecret, "base64"},
		{"23 bytes", "whsec_" + b64(23), swID, good, ErrMalformedSecret, "23 bytes, not 24 to 64"},
		{"65 bytes", "whsec_" + b64(65), swID, good, ErrMalformedSecret, "65 bytes"},
		{"prefix twice", "whsec_whsec_" + b64(32), swID, good, ErrMalformedSecret, "base64"},
		{"empty id", swSecret, "", good, nil, "message id is empty"},
		{"id with a full stop", swSecret, "msg.1", good, nil, `"." at byte 3`},
		{"id with a space", swSecret, "msg 1", good, nil, `" " at byte 3`},
		{"id with a newline", swSecret, "msg\n", good, nil, `"\n" at byte 3`},
		{"non-ASCII id", swSecret, "msg-é", good, nil, "printable ASCII"},
		{"long id", swSecret, strings.Repeat("a", 257), good, nil, "257 bytes"},
		{"zero time", swSecret, swID, time.Time{}, nil, "before 1970"},
		{"before 1970", swSecret, swID, time.Unix(-1, 0), nil, "before 1970"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SignStandard(c.secret, c.id, c.at, []byte(swBody))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("SignStandard = %q, %v; want an error saying %q", got, err, c.says)
			}
			if c.secret != "whsec_" && strings.Contains(err.Error(), strings.TrimPrefix(c.secret, "whsec_")) {
				t.Fatalf("the error shows the secret: %v", err)
			}
			if c.want == nil { // the same checks apply to Ed25519
				if _, err := SignEd25519(swKey(t), c.id, c.at, nil); err == nil || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("SignEd25519 = %v, want an error saying %q", err, c.says)
				}
			} else if err := CheckStandardSecret(c.secret); !errors.Is(err, ErrMalformedSecret) {
				t.Fatalf("CheckStandardSecret = %v", err)
			}
		})
	}
	for _, secret := range []string{swSecret, "whsec_" + b64(24), "whsec_" + b64(64)} {
		if err := CheckStandardSecret(secret); err != nil {
			t.Errorf("CheckStandardSecret(%s) = %v", secret, err)
		}
	}
	for _, n := range []int{0, 32, 63, 65} {
		if _, err := SignEd25519(make(ed25519.PrivateKey, n), swID, good, nil); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("SignEd25519 with a %d-byte key = %v, want ErrMalformedKey", n, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSecret()
		key, err := standardKey(s)
		if err != nil || len(key) != 32 || !strings.HasPrefix(s, "whsec_") {
			t.Fatalf("NewSecret = %q: %d bytes, %v", s, len(key), err)
		}
		if seen[s] {
			t.Fatalf("NewSecret repeated %s", s)
		}
		seen[s] = true
	}
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		text string
		unix int64
		ok   bool
	}{
		{"1614265330", 1614265330, true},
		{"0", 0, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"", 0, false},
		{"9223372036854775808", 0, false},
		{"-1", 0, false},
		{"+1614265330", 0, false},
		{"01614265330", 0, false},
		{"1614265330.5", 0, false},
		{"1614265330 ", 0, false},
		{" 1614265330", 0, false},
		{"1e9", 0, false},
		{"0x10", 0, false},
		{"١٢٣", 0, false}, // Arabic-Indic digits
		{"2021-02-25T15:02:10Z", 0, false},
	}
	for _, c := range cases {
		got, err := parseTimestamp(c.text)
		if c.ok != (err == nil) || (c.ok && got.Unix() != c.unix) {
			t.Errorf("parseTimestamp(%q) = %v, %v", c.text, got.Unix(), err)
		}
		if err != nil && !errors.Is(err, ErrMalformedHeader) {
			t.Errorf("parseTimestamp(%q) = %v, want ErrMalformedHeader", c.text, err)
		}
	}
}

func TestParseSignatures(t *testing.T) {
	cases := []struct {
		header string
		want   []signatureEntry
		ok     bool
	}{
		{"v1,abc", []signatureEntry{{"v1", "abc"}}, true},
		{"v1,abc v1a,def", []signatureEntry{{"v1", "abc"}, {"v1a", "def"}}, true},
		{"  v1,abc   v1a,def  ", []signatureEntry{{"v1", "abc"}, {"v1a", "def"}}, true},
		{"v1,abc\tv2,x", []signatureEntry{{"v1", "abc"}, {"v2", "x"}}, true},
		// As the specification's libraries: entries they cannot read are
		// skipped, not fatal.
		{",,, v1,not,base64  v1,abc", []signatureEntry{{"", ",,"}, {"v1", "not,base64"}, {"v1", "abc"}}, true},
		{"v1, v1 v1a", []signatureEntry{}, true},
		{"", []signatureEntry{}, true},
		{strings.Repeat("v1,x ", 16), []signatureEntry{{"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}, {"v1", "x"}}, true},
		{strings.Repeat("v1,x ", 17), nil, false},
	}
	for _, c := range cases {
		got, err := parseSignatures(c.header)
		if c.ok != (err == nil) {
			t.Errorf("parseSignatures(%q): %v", c.header, err)
			continue
		}
		if !c.ok {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Errorf("parseSignatures(%q) = %v, want ErrMalformedHeader", c.header, err)
			}
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("parseSignatures(%q) = %q, want %q", c.header, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("parseSignatures(%q) = %q, want %q", c.header, got, c.want)
				break
			}
		}
	}
}
