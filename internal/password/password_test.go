package password

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheap keeps the tests fast; the format and checks are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashAndVerify(t *testing.T) {
	h, err := HashWith("correct horse battery staple", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not carry its parameters", h)
	}
	cases := []struct {
		name     string
		password string
		want     bool
	}{
		{"right", "correct horse battery staple", true},
		{"wrong", "correct horse battery stapler", false},
		{"empty", "", false},
		{"case", "Correct horse battery staple", false},
		{"too long", strings.Repeat("x", MaxLength+1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := Verify(c.password, h)
			if err != nil || ok != c.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, c.want)
			}
		})
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := HashWith("same", cheap)
	b, _ := HashWith("same", cheap)
	if a == b {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestDefaultParameters(t *testing.T) {
	h, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash = %q, want the default parameters", h)
	}
	if ok, err := Verify("pw", h); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

// A hash made by argon2 directly, as another implementation would encode
// it, verifies: the encoding is the common PHC one.
func TestKnownEncoding(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("hunter2"), salt, 1, 64, 1, 32)
	h := "$argon2id$v=19$m=64,t=1,p=1$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
	if ok, err := Verify("hunter2", h); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; key %s", ok, err, hex.EncodeToString(key))
	}
}

func TestMalformed(t *testing.T) {
	good, _ := HashWith("pw", cheap)
	parts := strings.Split(good, "$")
	cases := map[string]string{
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"version":       strings.Replace(good, "v=19", "v=16", 1),
		"no params":     "$argon2id$v=19$$" + parts[4] + "$" + parts[5],
		"huge memory":   strings.Replace(good, "m=64", "m=99999999", 1),
		"bad salt":      strings.Replace(good, parts[4], "!!!", 1),
		"short key":     strings.Replace(good, parts[5], "AAAA", 1),
		"missing parts": "$argon2id$v=19",
		"garbage":       "hunter2",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := Verify("pw", h)
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify = %v, %v; want ErrMalformed", ok, err)
			}
		})
	}
	if ok, err := Verify("pw", ""); ok || err != nil {
		t.Fatalf("Verify with no hash = %v, %v; want false, nil", ok, err)
	}
}

func TestTooLong(t *testing.T) {
	if _, err := Hash(strings.Repeat("x", MaxLength+1)); err == nil {
		t.Fatal("Hash accepted a password over MaxLength")
	}
}

func FuzzVerify(f *testing.F) {
	good, _ := HashWith("pw", cheap)
	f.Add("pw", good)
	f.Add("", "$argon2id$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, pw, h string) {
		if strings.Contains(h, "m=") && !strings.Contains(h, "m=64,") {
			t.Skip() // keep the fuzzer from spending its time allocating
		}
		_, _ = Verify(pw, h)
	})
}
