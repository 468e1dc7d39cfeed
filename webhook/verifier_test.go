package webhook

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return testNow }

func standardHeader(id, timestamp string, signatures ...string) http.Header {
	h := http.Header{}
	h.Set(HeaderStandardID, id)
	h.Set(HeaderStandardTimestamp, timestamp)
	h.Set(HeaderStandardSignature, strings.Join(signatures, " "))
	return h
}

func testSecret(fill byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

func testKey(fill byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{fill}, ed25519.SeedSize))
}

func publicKey(id string, key ed25519.PrivateKey) PublicKey {
	return PublicKey{ID: id, Key: key.Public().(ed25519.PublicKey)}
}

// noSecretIn fails when err's message shows one of the secrets.
func noSecretIn(t *testing.T, err error, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if encoded := strings.TrimPrefix(s, "whsec_"); len(encoded) >= 6 && strings.Contains(err.Error(), encoded) {
			t.Fatalf("the error shows a secret: %v", err)
		}
	}
}

func TestVerifierStandard(t *testing.T) {
	const id = "0190a6a4-5e2b-7c3d-8e4f-a1b2c3d4e5f6"
	body := []byte(`{"status":"completed","studyId":"189"}`)
	ts := strconv.FormatInt(testNow.Unix(), 10)
	oldSecret, newSecret, otherSecret := testSecret(1), testSecret(2), testSecret(3)
	oldKey, newKey := testKey(1), testKey(2)

	sign := func(secret string, at time.Time, body []byte) string {
		s, err := SignStandard(secret, id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	signEd := func(key ed25519.PrivateKey, at time.Time) string {
		s, err := SignEd25519(key, id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	at := func(d time.Duration) (string, time.Time) {
		when := testNow.Add(d)
		return strconv.FormatInt(when.Unix(), 10), when
	}
	sigOld, sigNew, sigOther := sign(oldSecret, testNow, body), sign(newSecret, testNow, body), sign(otherSecret, testNow, body)
	sigOldKey, sigNewKey := signEd(oldKey, testNow), signEd(newKey, testNow)
	oldKeyBytes, _ := standardKey(oldSecret)
	asUTF8 := "v1," + base64.StdEncoding.EncodeToString(hmacSum([]byte(oldSecret), []byte(id+"."+ts+"."+string(body))))
	millis := strconv.FormatInt(testNow.UnixMilli(), 10)
	signedInMillis := "v1," + base64.StdEncoding.EncodeToString(hmacSum(oldKeyBytes, []byte(id+"."+millis+"."+string(body))))
	nonCanonical := sigOld[:len(sigOld)-2] + string(sigOld[len(sigOld)-2]+1) + "="

	secrets := func(s ...string) Verifier { return Verifier{Secrets: s, Now: fixedNow} }
	keys := func(k ...PublicKey) Verifier { return Verifier{Keys: k, Now: fixedNow} }
	header := func(signatures ...string) http.Header { return standardHeader(id, ts, signatures...) }
	ago := func(d time.Duration, secret string) http.Header {
		text, when := at(-d)
		return standardHeader(id, text, sign(secret, when, body))
	}

	runVerifyCases(t, body, []verifyCase{
		{name: "one secret", v: secrets(oldSecret), header: header(sigOld)},
		{name: "rotation: a receiver with the old secret", v: secrets(oldSecret), header: header(sigOld, sigNew)},
		{name: "rotation: a receiver with the new secret", v: secrets(newSecret), header: header(sigOld, sigNew)},
		{name: "rotation: a receiver with both, before", v: secrets(oldSecret, newSecret), header: header(sigOld)},
		{name: "rotation: a receiver with both, after", v: secrets(oldSecret, newSecret), header: header(sigNew)},
		{name: "rotation: the old secret after the overlap", v: secrets(oldSecret), header: header(sigNew), want: ErrInvalidSignature, says: "1 v1 and 0 v1a entries, checked against 1 whsec_ secret and 0 Ed25519 keys"},
		{name: "another webhook's secret", v: secrets(otherSecret), header: header(sigOld, sigNew), want: ErrInvalidSignature},
		{name: "Ed25519", v: keys(publicKey("k1", oldKey)), header: header(sigOldKey)},
		{name: "Ed25519 rotation: the new key", v: keys(publicKey("k2", newKey)), header: header(sigOldKey, sigNewKey)},
		{name: "Ed25519 rotation: both keys", v: keys(publicKey("k1", oldKey), publicKey("k2", newKey)), header: header(sigNewKey)},
		{name: "Ed25519: another key", v: keys(publicKey("k2", newKey)), header: header(sigOldKey), want: ErrInvalidSignature},
		{name: "v1 and v1a, key only", v: keys(publicKey("k1", oldKey)), header: header(sigOther, sigOldKey)},
		{name: "v1 and v1a, secret only", v: secrets(oldSecret), header: header(sigOldKey, sigOld)},
		{name: "shared-secret request, keys only", v: keys(publicKey("k1", oldKey)), header: header(sigOld), want: ErrInvalidSignature, says: "signed with a shared secret (v1), and the Verifier has no whsec_ secret"},
		{name: "Ed25519 request, secrets only", v: secrets(oldSecret), header: header(sigOldKey), want: ErrInvalidSignature, says: "signed with Ed25519 (v1a), and the Verifier has no key"},
		{name: "unreadable entries are skipped", v: secrets(oldSecret), header: header(",,,", "v1,not,base64", "v1,", "v1", sigOld)},
		{name: "an unknown version", v: secrets(oldSecret), header: header("v2," + strings.TrimPrefix(sigOld, "v1,")), want: ErrInvalidSignature},
		{name: "v1a signature labelled v1", v: keys(publicKey("k1", oldKey)), header: header("v1," + strings.TrimPrefix(sigOldKey, "v1a,")), want: ErrInvalidSignature},
		{name: "truncated v1a", v: keys(publicKey("k1", oldKey)), header: header(sigOldKey[:len(sigOldKey)-4]), want: ErrInvalidSignature},
		{name: "v1a without padding", v: keys(publicKey("k1", oldKey)), header: header(strings.TrimRight(sigOldKey, "=")), want: ErrInvalidSignature},
		{name: "v1 in non-canonical base64", v: secrets(oldSecret), header: header(nonCanonical), want: ErrInvalidSignature},
		{name: "v1 in another case", v: secrets(oldSecret), header: header("V1," + strings.TrimPrefix(sigOld, "v1,")), want: ErrInvalidSignature},
		{name: "the secret's text as the key", v: secrets(oldSecret), header: header(asUTF8), want: ErrInvalidSignature},
		{name: "changed body", v: secrets(oldSecret), header: header(sigOld), body: append(append([]byte{}, body...), ' '), want: ErrInvalidSignature},
		{name: "changed body, Ed25519", v: keys(publicKey("k1", oldKey)), header: header(sigOldKey), body: []byte(`{}`), want: ErrInvalidSignature},
		{name: "changed id", v: secrets(oldSecret), header: standardHeader(id[:35]+"7", ts, sigOld), want: ErrInvalidSignature},
		{name: "changed timestamp", v: secrets(oldSecret), header: standardHeader(id, strconv.FormatInt(testNow.Unix()+1, 10), sigOld), want: ErrInvalidSignature},
		{name: "signed at the tolerance", v: secrets(oldSecret), header: ago(DefaultTolerance, oldSecret)},
		{name: "signed at the tolerance ahead", v: secrets(oldSecret), header: ago(-DefaultTolerance, oldSecret)},
		{name: "a replay", v: secrets(oldSecret), header: ago(DefaultTolerance+time.Second, oldSecret), want: ErrTimestampOutsideTolerance, says: "signed 5m1s ago, and the tolerance is 5m0s"},
		{name: "a replay a day later", v: secrets(oldSecret), header: ago(24*time.Hour, oldSecret), want: ErrTimestampOutsideTolerance, says: "signed 24h0m0s ago"},
		{name: "from the future", v: secrets(oldSecret), header: ago(-DefaultTolerance-time.Second, oldSecret), want: ErrTimestampOutsideTolerance, says: "5m1s in the future"},
		{name: "milliseconds", v: secrets(oldSecret), header: standardHeader(id, millis, signedInMillis), want: ErrTimestampOutsideTolerance, says: "in the future"},
		{name: "a tolerance of 30s", v: Verifier{Secrets: []string{oldSecret}, Tolerance: 30 * time.Second, Now: fixedNow}, header: ago(31*time.Second, oldSecret), want: ErrTimestampOutsideTolerance, says: "the tolerance is 30s"},
		{name: "a tolerance of an hour", v: Verifier{Secrets: []string{oldSecret}, Tolerance: time.Hour, Now: fixedNow}, header: ago(59*time.Minute, oldSecret)},
		{name: "forged and old", v: secrets(oldSecret), header: ago(time.Hour, otherSecret), want: ErrInvalidSignature},
		{name: "no webhook-id", v: secrets(oldSecret), header: standardHeader("", ts, sigOld), want: ErrMalformedHeader, says: "webhook-signature without webhook-id"},
		{name: "no webhook-timestamp", v: secrets(oldSecret), header: standardHeader(id, "", sigOld), want: ErrMalformedHeader, says: "webhook-signature without webhook-timestamp"},
		{name: "a date as timestamp", v: secrets(oldSecret), header: standardHeader(id, "2027-01-15T08:00:00Z", sigOld), want: ErrMalformedHeader, says: "not unix seconds"},
		{name: "a negative timestamp", v: secrets(oldSecret), header: standardHeader(id, "-"+ts, sigOld), want: ErrMalformedHeader},
		{name: "an id with a full stop", v: secrets(oldSecret), header: standardHeader("a.b", ts, sigOld), want: ErrMalformedHeader, says: `webhook-id: the message id has "."`},
		{name: "seventeen signatures", v: secrets(oldSecret), header: header(strings.Repeat("v2,x ", 16) + sigOld), want: ErrMalformedHeader, says: "17 entries"},
		{name: "no signature", v: Verifier{Secrets: []string{oldSecret}, Format: FormatStandard}, header: http.Header{HeaderStandardID: {id}}, want: ErrMissingSignature, says: "accepts format standard only"},
		{name: "no secret", v: Verifier{}, header: header(sigOld), want: ErrNoSecret, says: "has neither (0 secrets"},
		{name: "only an actigraph secret", v: secrets("s3cret"), header: header(sigOld), want: ErrNoSecret, says: "1 secret, none starting with whsec_"},
		{name: "an actigraph secret beside", v: secrets("s3cret", "", oldSecret), header: header(sigOld)},
		{name: "a malformed whsec_ secret", v: secrets("whsec_c2hvcnQ=", oldSecret), header: header(sigOld), want: ErrMalformedSecret, says: "(Verifier.Secrets[0])"},
		{name: "a malformed key", v: keys(PublicKey{ID: "k9", Key: make(ed25519.PublicKey, 31)}), header: header(sigOldKey), want: ErrMalformedKey, says: `Verifier.Keys[0] (kid "k9") is 31 bytes`},
		{name: "a negative tolerance", v: Verifier{Secrets: []string{oldSecret}, Tolerance: -time.Second, Now: fixedNow}, header: header(sigOld), says: "Verifier.Tolerance is negative"},
		{name: "format actigraph only", v: Verifier{Secrets: []string{oldSecret}, Format: FormatActiGraph}, header: header(sigOld), want: ErrMissingSignature, says: "signed in format standard: is that the webhook's format?"},
		{name: "a misspelt format", v: Verifier{Secrets: []string{oldSecret}, Format: "Standard"}, header: header(sigOld), says: `Verifier.Format is "Standard"`},
	})
}

type verifyCase struct {
	name   string
	v      Verifier
	header http.Header
	body   []byte // nil: the test's body
	want   error  // nil: valid, unless says is set
	says   string // part of the error message
}

func runVerifyCases(t *testing.T, body []byte, cases []verifyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := body
			if c.body != nil {
				b = c.body
			}
			err := c.v.Verify(c.header, b)
			switch {
			case c.want == nil && c.says == "":
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
			case err == nil:
				t.Fatalf("Verify = nil, want %v", c.want)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("Verify = %v, want %v", err, c.want)
			case !strings.Contains(err.Error(), c.says):
				t.Fatalf("Verify = %v, want it to say %q", err, c.says)
			}
			noSecretIn(t, err, c.v.Secrets)
		})
	}
}

func actigraphHeader(prefix, signature, next string) http.Header {
	h := http.Header{}
	if signature != "" {
		h.Set(prefix+"Signature", signature)
	}
	if next != "" {
		h.Set(prefix+"Signature-Next", next)
	}
	return h
}

func TestVerifierActiGraph(t *testing.T) {
	body := []byte(`{"status":"completed","studyId":"189"}`)
	oldSecret, newSecret, otherSecret := "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?", testSecret(2), "another secret"
	sigOld, sigNew := Sign(oldSecret, body), Sign(newSecret, body)
	decoded, _ := standardKey(newSecret)
	withDecodedKey := base64.StdEncoding.EncodeToString(hmacSum(decoded, body))
	h := func(signature, next string) http.Header { return actigraphHeader(DefaultHeaderPrefix, signature, next) }
	secrets := func(s ...string) Verifier { return Verifier{Secrets: s} }

	runVerifyCases(t, body, []verifyCase{
		{name: "before a rotation", v: secrets(oldSecret), header: h(sigOld, "")},
		{name: "rotation: a receiver with the old secret", v: secrets(oldSecret), header: h(sigOld, sigNew)},
		{name: "rotation: a receiver with the new secret", v: secrets(newSecret), header: h(sigOld, sigNew)},
		{name: "rotation: a receiver with both", v: secrets(oldSecret, newSecret), header: h(sigOld, sigNew)},
		{name: "after: a receiver with both", v: secrets(oldSecret, newSecret), header: h(sigNew, "")},
		{name: "after: the old secret", v: secrets(oldSecret), header: h(sigNew, ""), want: ErrInvalidSignature, says: "1 signature checked against 1 secret"},
		{name: "another webhook's secret", v: secrets(otherSecret), header: h(sigOld, sigNew), want: ErrInvalidSignature, says: "2 signatures checked against 1 secret"},
		{name: "the next signature alone", v: secrets(newSecret), header: h("", sigNew)},
		{name: "changed body", v: secrets(oldSecret, newSecret), header: h(sigOld, sigNew), body: []byte(`{}`), want: ErrInvalidSignature},
		{name: "a whsec_ secret is its text here", v: secrets(newSecret), header: h(withDecodedKey, ""), want: ErrInvalidSignature},
		{name: "a swapped pair still verifies", v: secrets(oldSecret), header: h(sigNew, sigOld)},
		{name: "another prefix", v: Verifier{Secrets: []string{oldSecret}, HeaderPrefix: "X-Acme-"}, header: actigraphHeader("X-Acme-", sigOld, "")},
		{name: "another prefix, default headers", v: Verifier{Secrets: []string{oldSecret}, HeaderPrefix: "X-Acme-"}, header: h(sigOld, ""), want: ErrMissingSignature, says: "X-Acme-Signature"},
		{name: "no secret", v: Verifier{}, header: h(sigOld, ""), want: ErrNoSecret, says: "format actigraph"},
		{name: "only empty secrets", v: secrets("", ""), header: h(sigOld, ""), want: ErrNoSecret},
		{name: "unsigned", v: secrets(oldSecret), header: http.Header{}, want: ErrMissingSignature, says: "no webhook-signature, X-ActiGraph-Signature or X-ActiGraph-Signature-Next header"},
		{name: "format standard only", v: Verifier{Secrets: []string{oldSecret}, Format: FormatStandard}, header: h(sigOld, ""), want: ErrMissingSignature, says: "signed in format actigraph: is that the webhook's format?"},
		{name: "format actigraph only", v: Verifier{Secrets: []string{oldSecret}, Format: FormatActiGraph}, header: h(sigOld, "")},
	})
}

// With both formats' headers, the standard one decides, so a valid
// signature without a timestamp cannot stand in for a stale one.
func TestVerifierPrefersStandard(t *testing.T) {
	secret := testSecret(1)
	body := []byte(`{}`)
	old := testNow.Add(-time.Hour)
	sig, err := SignStandard(secret, "id", old, body)
	if err != nil {
		t.Fatal(err)
	}
	h := standardHeader("id", strconv.FormatInt(old.Unix(), 10), sig)
	h.Set(HeaderSignature, Sign(secret, body))
	v := Verifier{Secrets: []string{secret}, Now: fixedNow}
	if err := v.Verify(h, body); !errors.Is(err, ErrTimestampOutsideTolerance) {
		t.Fatalf("Verify = %v, want ErrTimestampOutsideTolerance", err)
	}
	v.Format = FormatActiGraph
	if err := v.Verify(h, body); err != nil {
		t.Fatalf("Verify in format actigraph only = %v", err)
	}
}

func TestVerifierVerifyRequest(t *testing.T) {
	secret := testSecret(4)
	v := &Verifier{Secrets: []string{secret}, Now: fixedNow}
	body := `{"status":"completed","studyId":"189"}`
	request := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(body))
		sig, err := SignStandard(secret, "id-1", testNow, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for name, values := range standardHeader("id-1", strconv.FormatInt(testNow.Unix(), 10), sig) {
			r.Header[name] = values
		}
		return r
	}

	testRequestVerifier(t, v.VerifyRequest, request, func(r *http.Request) { r.Header.Del(HeaderStandardSignature) })
	t.Run("format actigraph, two secrets", func(t *testing.T) {
		v := &Verifier{Secrets: []string{"old", secret}}
		testRequestVerifier(t, v.VerifyRequest,
			func(body string) *http.Request { return signedRequest(secret, "upload", body) },
			func(r *http.Request) { r.Header.Del(HeaderSignature) })
	})
	t.Run("VerifyRequest with the next secret", func(t *testing.T) {
		// A receiver that moved to the new secret during an actigraph
		// rotation, with the one-secret function it already called.
		r := signedRequest("old", "upload", body)
		r.Header.Set(HeaderSignatureNext, Sign("new", []byte(body)))
		if _, err := VerifyRequest(r, "new"); err != nil {
			t.Fatalf("VerifyRequest(new secret) = %v", err)
		}
	})
	t.Run("VerifyRequest on a standard request", func(t *testing.T) {
		if _, err := VerifyRequest(request(body), secret); !errors.Is(err, ErrMissingSignature) || !strings.Contains(err.Error(), "signed in format standard") {
			t.Fatalf("VerifyRequest = %v, want ErrMissingSignature with a hint", err)
		}
	})
}

// Over a real connection, with the header names in the specification's
// lower case, as Hookshot writes them.
func TestVerifierOverTheWire(t *testing.T) {
	secret, key := testSecret(5), testKey(5)
	v := &Verifier{Secrets: []string{secret}, Keys: []PublicKey{publicKey("k", key)}, Format: FormatStandard}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.VerifyRequest(r); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	body := []byte(`{"status":"started"}`)
	now := time.Now()
	hmacSig, err := SignStandard(secret, "d-1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	edSig, err := SignEd25519(key, "d-1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, signature := range []string{hmacSig, edSig, hmacSig + " " + edSig, "v1,AAAA"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["webhook-id"] = []string{"d-1"}
		req.Header["webhook-timestamp"] = []string{strconv.FormatInt(now.Unix(), 10)}
		req.Header["webhook-signature"] = []string{signature}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusNoContent}[signature == "v1,AAAA"]; resp.StatusCode != want {
			t.Fatalf("%.20s…: answered %d %s, want %d", signature, resp.StatusCode, msg, want)
		}
	}
}
