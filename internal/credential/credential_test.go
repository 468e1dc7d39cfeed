package credential

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookshot/hookshot"
)

func newBox(tb testing.TB) *Box {
	tb.Helper()
	key, err := GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var everything = hookshot.Credentials{
	Password:     "p@ss wörd",
	Secret:       "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?",
	ClientSecret: "client-secret-🔑",
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, c := range []hookshot.Credentials{
		everything,
		{Secret: "only a secret"},
		{Password: "only a password"},
		{ClientSecret: strings.Repeat("long ", 1000)},
		{},
	} {
		sealed, err := b.Seal(c)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		got, err := b.Open(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != c {
			t.Fatalf("Open(Seal(%+v)) = %+v", c, got)
		}
	}
}

func TestOpenNothing(t *testing.T) {
	b := newBox(t)
	for _, sealed := range [][]byte{nil, {}} {
		c, err := b.Open(sealed)
		if err != nil || c != (hookshot.Credentials{}) {
			t.Fatalf("Open(%v) = %+v, %v; want zero credentials", sealed, c, err)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	b := newBox(t)
	one, _ := b.Seal(everything)
	two, _ := b.Seal(everything)
	if bytes.Equal(one, two) {
		t.Fatal("sealing twice gave the same bytes; equal secrets would show as equal")
	}
	if one[0] != formatV1 {
		t.Fatalf("first byte %d, want the format %d", one[0], formatV1)
	}
}

// Nothing of the plaintext shows through: not the secrets, not even the
// JSON names of the fields.
func TestSealedBytesHideThePlaintext(t *testing.T) {
	b := newBox(t)
	sealed, err := b.Seal(everything)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{everything.Password, everything.Secret, everything.ClientSecret, "secret", "password", `{"`} {
		if bytes.Contains(sealed, []byte(s)) || strings.Contains(hex.EncodeToString(sealed), hex.EncodeToString([]byte(s))) {
			t.Errorf("sealed bytes contain %q", s)
		}
	}
}

func TestOpenWithAnotherKeyFails(t *testing.T) {
	sealed, err := newBox(t).Seal(everything)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newBox(t).Open(sealed)
	if !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("Open with another key = %+v, %v; want ErrCannotOpen", c, err)
	}
	if c != (hookshot.Credentials{}) {
		t.Fatalf("a failed Open returned credentials %+v", c)
	}
	if !strings.Contains(err.Error(), "HOOKSHOT_SECRET_KEY") {
		t.Fatalf("error %q does not say which key to check", err)
	}
}

// Every single-byte change is caught, whether in the format byte, the
// nonce, the ciphertext or the tag; so is cutting bytes off.
func TestOpenRefusesTampering(t *testing.T) {
	b := newBox(t)
	sealed, err := b.Seal(everything)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		changed := bytes.Clone(sealed)
		changed[i] ^= 0x01
		if c, err := b.Open(changed); err == nil {
			t.Fatalf("byte %d changed, and Open gave %+v", i, c)
		}
	}
	for n := 1; n < len(sealed); n++ {
		if _, err := b.Open(sealed[:n]); err == nil {
			t.Fatalf("Open accepted the first %d of %d bytes", n, len(sealed))
		}
	}
	if _, err := b.Open(append(bytes.Clone(sealed), 0)); err == nil {
		t.Fatal("Open accepted an extra byte")
	}
	unknown := bytes.Clone(sealed)
	unknown[0] = 2
	if _, err := b.Open(unknown); err == nil || !strings.Contains(err.Error(), "format 2") {
		t.Fatalf("Open of format 2 = %v", err)
	}
}

func TestNewRefusesWrongKeySizes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestParseKey(t *testing.T) {
	hexKey := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name, in string
		ok       bool
	}{
		{"lower case", hexKey, true},
		{"upper case", strings.ToUpper(hexKey), true},
		{"with a newline", hexKey + "\n", true},
		{"with spaces", "  " + hexKey + "\t", true},
		{"empty", "", false},
		{"63 characters", hexKey[1:], false},
		{"65 characters", hexKey + "0", false},
		{"32 characters", hexKey[:32], false},
		{"not hexadecimal", "g" + hexKey[1:], false},
		{"space inside", hexKey[:32] + " " + hexKey[33:], false},
		{"base64 of 32 bytes", "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseKey(tc.in)
			if tc.ok {
				if err != nil || len(key) != KeySize || hex.EncodeToString(key) != strings.ToLower(strings.TrimSpace(tc.in)) {
					t.Fatalf("ParseKey = %x, %v", key, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKey accepted %q", tc.in)
			}
			if !strings.Contains(err.Error(), "64 hexadecimal characters") {
				t.Errorf("error %q does not say what a key looks like", err)
			}
			if len(tc.in) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	one, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	two, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != KeySize || bytes.Equal(one, two) || bytes.Equal(one, make([]byte, KeySize)) {
		t.Fatalf("keys %x and %x", one, two)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hookshot.db.key")
	key, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("key file mode %o, want 600", mode)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != hex.EncodeToString(key)+"\n" {
		t.Fatalf("key file holds %q, want the key in hex and a newline", b)
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load = %x, %v; want the same key %x", again, err, key)
	}
	// Credentials sealed before a restart open after it.
	box1, _ := New(key)
	sealed, _ := box1.Seal(everything)
	box2, _ := New(again)
	if c, err := box2.Open(sealed); err != nil || c != everything {
		t.Fatalf("after reloading the key: %+v, %v", c, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind %v", entries)
	}
}

// A key file written by hand (or by openssl rand -hex 32 > file) is read.
func TestLoadKeyFileWrittenByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	want := strings.Repeat("ab", KeySize)
	if err := os.WriteFile(path, []byte(strings.ToUpper(want)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := LoadOrCreateKeyFile(path)
	if err != nil || hex.EncodeToString(key) != want {
		t.Fatalf("LoadOrCreateKeyFile = %x, %v", key, err)
	}
}

// A damaged key file is an error naming the file, never silently replaced:
// a new key would orphan every sealed credential.
func TestLoadBadKeyFile(t *testing.T) {
	for name, content := range map[string]string{"empty": "", "short": "abcd\n", "not hex": strings.Repeat("zz", KeySize)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadOrCreateKeyFile = %v, want an error naming %s", err, path)
			}
			b, _ := os.ReadFile(path)
			if string(b) != content {
				t.Fatalf("the file was changed to %q", b)
			}
		})
	}
}

func TestLoadKeyFileInMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "k")
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("created a key file in a directory that does not exist")
	}
}

// Processes starting together on a fresh database agree on one key.
func TestLoadOrCreateKeyFileConcurrently(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("callers got different keys: %x and %x", keys[0], keys[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind %v", entries)
	}
}

func TestBoxDoesNotPrintItsKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xAB}, KeySize)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, b)
		if strings.Contains(strings.ToLower(out), "abab") || strings.Contains(out, "171") {
			t.Errorf("%s prints %s", format, out)
		}
	}
}

// One Box serves every request at once (run with -race).
func TestBoxConcurrently(t *testing.T) {
	b := newBox(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := hookshot.Credentials{Secret: fmt.Sprint("secret ", i)}
			for range 100 {
				sealed, err := b.Seal(c)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := b.Open(sealed); err != nil || got != c {
					t.Errorf("Open = %+v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzOpen: whatever the database holds, Open never panics, and only
// what Seal made opens.
func FuzzOpen(f *testing.F) {
	b, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := b.Seal(everything)
	f.Add(sealed)
	f.Add([]byte{formatV1})
	f.Add([]byte{})
	f.Add([]byte(`{"secret":"x"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := b.Open(in)
		if err != nil && c != (hookshot.Credentials{}) {
			t.Fatalf("Open failed but returned %+v", c)
		}
		// The key has sealed nothing else, so whatever opens must be that.
		// (Comparing bytes would not do: a fuzz worker seals afresh, with
		// another nonce, when it runs this function's set-up.)
		if err == nil && len(in) > 0 && c != everything {
			t.Fatalf("Open accepted bytes Seal never made: %x gave %+v", in, c)
		}
	})
}

// What opened once is kept under its sealed bytes: opening them again
// gives the same credentials, other bytes (even of equal credentials) are
// opened on their own, and a changed copy of opened bytes still fails.
func TestOpenKeepsWhatItOpened(t *testing.T) {
	b := newBox(t)
	sealed, err := b.Seal(everything)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if c, err := b.Open(sealed); err != nil || c != everything {
			t.Fatalf("Open = %+v, %v", c, err)
		}
	}
	if n := b.credentials.len(); n != 1 {
		t.Fatalf("%d opened credentials kept, want 1", n)
	}
	again, err := b.Seal(everything)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := b.Open(again); err != nil || c != everything {
		t.Fatalf("Open of a second sealing = %+v, %v", c, err)
	}
	if n := b.credentials.len(); n != 2 {
		t.Fatalf("%d opened credentials kept, want 2", n)
	}
	changed := bytes.Clone(sealed)
	changed[len(changed)-1] ^= 0x01
	if c, err := b.Open(changed); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("Open of a changed copy of opened bytes = %+v, %v; want ErrCannotOpen", c, err)
	}
	if n := b.credentials.len(); n != 2 {
		t.Fatalf("a failed Open was kept: %d entries", n)
	}
}

// However many credentials pass through, the Box keeps at most maxOpened,
// and what it dropped still opens.
func TestOpenedIsBounded(t *testing.T) {
	b := newBox(t)
	var first []byte
	for i := range maxOpened + 10 {
		c := hookshot.Credentials{Secret: fmt.Sprint("secret ", i)}
		sealed, err := b.Seal(c)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = sealed
		}
		if got, err := b.Open(sealed); err != nil || got != c {
			t.Fatalf("Open = %+v, %v", got, err)
		}
	}
	if n := b.credentials.len(); n != maxOpened {
		t.Fatalf("%d opened credentials kept, want the bound %d", n, maxOpened)
	}
	if got, err := b.Open(first); err != nil || got.Secret != "secret 0" {
		t.Fatalf("Open of the first = %+v, %v", got, err)
	}
}
