package interop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

const (
	nodeDir     = "testdata/node"
	nodeInstall = "npm ci --prefix internal/interop/testdata/node"
)

// requireNode returns the path of Node.js once the pinned npm packages
// are installed, and skips the test otherwise, saying how to install
// them; under CI=true it fails instead, so that CI cannot pass without
// the independent verifiers having run.
func requireNode(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so this fails rather than skips", why)
		}
		t.Skip(why)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("Node.js is not on PATH (" + err.Error() + "): install Node.js 20 or newer (Debian: apt-get install nodejs npm), then run " + nodeInstall)
	}
	for _, pkg := range []string{"standardwebhooks", "jose"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			missing("the npm package " + pkg + " is not installed: run " + nodeInstall + " from the repository's root")
		}
	}
	return node
}

// message is one thing for Node to sign or verify; Body is base64, so the
// bytes arrive as they are.
type message struct {
	Name      string `json:"name,omitempty"`
	Secret    string `json:"secret,omitempty"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Body      []byte `json:"body"`
	Signature string `json:"signature,omitempty"`
}

type keypair struct {
	Kid      string    `json:"kid"`
	Messages []message `json:"messages"`
}

type nodeInput struct {
	Verify   []message       `json:"verify,omitempty"`
	Sign     []message       `json:"sign,omitempty"`
	JWKS     json.RawMessage `json:"jwks,omitempty"`
	Ed25519  []message       `json:"ed25519,omitempty"`
	Keypairs []keypair       `json:"keypairs,omitempty"`
}

type nodeOutput struct {
	Versions map[string]string `json:"versions"`
	Verify   []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"verify"`
	Sign []struct {
		Name      string `json:"name"`
		Signature string `json:"signature"`
	} `json:"sign"`
	Ed25519 []struct {
		Name string   `json:"name"`
		Kids []string `json:"kids"`
	} `json:"ed25519"`
	Keypairs struct {
		JWKS       json.RawMessage `json:"jwks"`
		Signatures [][]string      `json:"signatures"`
	} `json:"keypairs"`
}

// runNode runs interop.mjs on input, logs the versions that ran, and
// fails if they are not the ones package.json pins (a stale node_modules).
func runNode(t *testing.T, input nodeInput) nodeOutput {
	t.Helper()
	node := requireNode(t)
	data, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(nodeDir, "interop.mjs"))
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node interop.mjs: %v\n%s", err, stderr.String())
	}
	var result nodeOutput
	if err := json.Unmarshal(out, &result); err != nil {
		t.Fatalf("node interop.mjs answered %q: %v", out, err)
	}
	t.Logf("ran Node.js %s (OpenSSL %s), standardwebhooks %s, jose %s",
		result.Versions["node"], result.Versions["openssl"], result.Versions["standardwebhooks"], result.Versions["jose"])

	manifest, err := os.ReadFile(filepath.Join(nodeDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pins struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(manifest, &pins); err != nil {
		t.Fatal(err)
	}
	for pkg, pinned := range pins.Dependencies {
		if got := result.Versions[pkg]; got != pinned {
			t.Fatalf("%s %s is installed, package.json pins %s: run %s", pkg, got, pinned, nodeInstall)
		}
	}
	return result
}

// The npm package standardwebhooks verifies what SignStandard makes, also
// the two-signature header of a rotation; refuses a changed body and
// another secret; and signs byte for byte as we do, which our Verifier
// accepts.
func TestStandardwebhooksNPM(t *testing.T) {
	now := time.Now()
	var input nodeInput
	type expectation struct {
		name string
		ok   bool
	}
	var want []expectation
	add := func(name, secret, id string, body []byte, signature string, ok bool) {
		input.Verify = append(input.Verify, message{Name: name, Secret: secret, ID: id, Timestamp: now.Unix(), Body: body, Signature: signature})
		want = append(want, expectation{name, ok})
	}
	sign := func(secret, id string, body []byte) string {
		s, err := webhook.SignStandard(secret, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	all := vectors(50)
	for _, v := range all {
		sig := sign(v.secret, v.id, v.body)
		add(v.name, v.secret, v.id, v.body, sig, true)
		add(v.name+", changed body", v.secret, v.id, append(append([]byte{}, v.body...), ' '), sig, false)
		input.Sign = append(input.Sign, message{Name: v.name, Secret: v.secret, ID: v.id, Timestamp: now.Unix(), Body: v.body})
	}
	oldSecret, newSecret := webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"status":"completed","studyId":"189"}`)
	rotation := sign(oldSecret, "d-9", body) + " " + sign(newSecret, "d-9", body)
	add("rotation, old secret", oldSecret, "d-9", body, rotation, true)
	add("rotation, new secret", newSecret, "d-9", body, rotation, true)
	add("rotation, another secret", webhook.NewSecret(), "d-9", body, rotation, false)
	old := time.Now().Add(-time.Hour)
	stale, err := webhook.SignStandard(oldSecret, "d-9", old, body)
	if err != nil {
		t.Fatal(err)
	}
	input.Verify = append(input.Verify, message{Name: "an hour old", Secret: oldSecret, ID: "d-9", Timestamp: old.Unix(), Body: body, Signature: stale})
	want = append(want, expectation{"an hour old", false})

	out := runNode(t, input)
	if len(out.Verify) != len(want) || len(out.Sign) != len(all) {
		t.Fatalf("node answered %d verifications and %d signatures for %d and %d", len(out.Verify), len(out.Sign), len(want), len(all))
	}
	for i, w := range want {
		if got := out.Verify[i]; got.OK != w.ok {
			t.Errorf("%s: standardwebhooks says ok=%v (%s), want %v", w.name, got.OK, got.Error, w.ok)
		}
	}
	for i, v := range all {
		theirs := out.Sign[i].Signature
		if ours := sign(v.secret, v.id, v.body); theirs != ours {
			t.Errorf("%s: standardwebhooks signs %s, we sign %s", v.name, theirs, ours)
		}
		verifier := webhook.Verifier{Secrets: []string{v.secret}, Format: webhook.FormatStandard, Now: func() time.Time { return now }}
		if err := verifier.Verify(standardHeader(v.id, now, theirs), v.body); err != nil {
			t.Errorf("%s: Verify(standardwebhooks' signature) = %v", v.name, err)
		}
	}
}

// jwk is an Ed25519 public key as RFC 8037 writes it.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	X   string `json:"x"`
}

// jwksOf writes the JWKS that Hookshot serves for a study's keys.
func jwksOf(t *testing.T, kids []string, keys []ed25519.PublicKey) json.RawMessage {
	t.Helper()
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for i, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Kid: kids[i], Use: "sig", Alg: "EdDSA", X: base64.RawURLEncoding.EncodeToString(k)})
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// jose imports the JWKS we write and Node's crypto verifies SignEd25519's
// signatures under its keys; the other way, jose exports the JWKS of keys
// Node made, and ParseJWKS and a Verifier accept Node's signatures.
func TestJoseJWKS(t *testing.T) {
	oldKey, newKey := newKey(t), newKey(t)
	kids := []string{"2027-01", "2027-02"}
	set := jwksOf(t, kids, []ed25519.PublicKey{oldKey.Public().(ed25519.PublicKey), newKey.Public().(ed25519.PublicKey)})
	if keys, err := webhook.ParseJWKS(set); err != nil || len(keys) != 2 || keys[1].ID != kids[1] {
		t.Fatalf("ParseJWKS(our JWKS) = %v, %v", keys, err)
	}

	now := time.Now()
	sign := func(key ed25519.PrivateKey, v vector) string {
		s, err := webhook.SignEd25519(key, v.id, now, v.body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	input := nodeInput{JWKS: set}
	var want [][]string
	all := vectors(20)
	for _, v := range all {
		m := message{Name: v.name, ID: v.id, Timestamp: now.Unix(), Body: v.body}
		m.Signature = sign(oldKey, v)
		input.Ed25519 = append(input.Ed25519, m)
		want = append(want, kids[:1])
		m.Name, m.Signature = v.name+", rotation", sign(oldKey, v)+" "+sign(newKey, v)
		input.Ed25519 = append(input.Ed25519, m)
		want = append(want, kids)
		m.Name, m.Signature, m.Body = v.name+", changed body", sign(newKey, v), append(append([]byte{}, v.body...), ' ')
		input.Ed25519 = append(input.Ed25519, m)
		want = append(want, nil)
	}
	for i := range 2 {
		p := keypair{Kid: "node-" + strconv.Itoa(i)}
		for _, v := range all {
			p.Messages = append(p.Messages, message{ID: v.id, Timestamp: now.Unix(), Body: v.body})
		}
		input.Keypairs = append(input.Keypairs, p)
	}

	out := runNode(t, input)
	if len(out.Ed25519) != len(want) {
		t.Fatalf("node answered %d Ed25519 checks for %d", len(out.Ed25519), len(want))
	}
	for i, w := range want {
		if got := out.Ed25519[i]; !slices.Equal(got.Kids, w) {
			t.Errorf("%s: Node verifies with keys %q, want %q", got.Name, got.Kids, w)
		}
	}

	keys, err := webhook.ParseJWKS(out.Keypairs.JWKS)
	if err != nil || len(keys) != 2 || keys[0].ID != "node-0" {
		t.Fatalf("ParseJWKS(jose's JWKS %s) = %v, %v", out.Keypairs.JWKS, keys, err)
	}
	verifier := webhook.Verifier{Keys: keys, Format: webhook.FormatStandard, Now: func() time.Time { return now }}
	only := webhook.Verifier{Keys: keys[1:], Format: webhook.FormatStandard, Now: func() time.Time { return now }}
	for i, v := range all {
		first, second := out.Keypairs.Signatures[0][i], out.Keypairs.Signatures[1][i]
		if err := verifier.Verify(standardHeader(v.id, now, first), v.body); err != nil {
			t.Errorf("%s: Verify(Node's signature) = %v", v.name, err)
		}
		if err := only.Verify(standardHeader(v.id, now, first, second), v.body); err != nil {
			t.Errorf("%s: Verify(Node's rotation header) with the second key = %v", v.name, err)
		}
		if err := only.Verify(standardHeader(v.id, now, first), v.body); err == nil {
			t.Errorf("%s: the second key verifies the first one's signature", v.name)
		}
		if err := verifier.Verify(standardHeader(v.id, now, first), append(append([]byte{}, v.body...), '\n')); err == nil {
			t.Errorf("%s: Node's signature verifies a changed body", v.name)
		}
	}
	if !strings.Contains(string(out.Keypairs.JWKS), `"kty":"OKP"`) {
		t.Errorf("jose's JWKS %s is not OKP", out.Keypairs.JWKS)
	}
}
