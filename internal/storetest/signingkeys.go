package storetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

var signingKeyTests = []test{
	{"NoneAtFirst", testSigningKeysNoneAtFirst},
	{"Ensure", testEnsureSigningKey},
	{"EnsureConcurrently", testEnsureSigningKeyConcurrently},
	{"Rotate", testRotateSigningKey},
	{"RotateWithoutKey", testRotateSigningKeyWithoutKey},
	{"RotateDeletesExpired", testRotateDeletesExpired},
}

// newSigningKey is a fresh key of study created at created, not stored.
// Its sealed private key is opaque bytes to a store.
func (f *fixture) newSigningKey(study int64, created time.Time) *hookshot.SigningKey {
	f.t.Helper()
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	return &hookshot.SigningKey{
		ID:               hookshot.KeyID(public),
		StudyID:          study,
		PublicKey:        public,
		SealedPrivateKey: append([]byte{0x81, 0x00, 0xff}, public...),
		CreatedAt:        created,
	}
}

func (f *fixture) signingKeys(study int64, now time.Time) []*hookshot.SigningKey {
	f.t.Helper()
	keys, err := f.store.SigningKeys(f.ctx, study, now)
	if err != nil {
		f.t.Fatalf("SigningKeys: %v", err)
	}
	return keys
}

// wantKeys checks that the keys in force are want, in that order, each
// with every field as stored.
func (f *fixture) wantKeys(what string, got []*hookshot.SigningKey, want ...*hookshot.SigningKey) {
	f.t.Helper()
	if len(got) != len(want) {
		ids := make([]string, len(got))
		for i, k := range got {
			ids[i] = k.ID
		}
		f.t.Fatalf("%s: %d keys %v, want %d", what, len(got), ids, len(want))
	}
	for i := range want {
		var d diffs
		d.check("ID", got[i].ID, want[i].ID)
		d.check("StudyID", got[i].StudyID, want[i].StudyID)
		d.check("PublicKey", []byte(got[i].PublicKey), []byte(want[i].PublicKey))
		d.check("SealedPrivateKey", got[i].SealedPrivateKey, want[i].SealedPrivateKey)
		d.check("CreatedAt", got[i].CreatedAt, want[i].CreatedAt)
		d.check("ExpiresAt", got[i].ExpiresAt, want[i].ExpiresAt)
		d.report(f.t, what)
	}
}

// A study that never needed a key has none.
func testSigningKeysNoneAtFirst(t *testing.T, f *fixture) {
	f.wantKeys("SigningKeys", f.signingKeys(studyA, f.now))
}

// EnsureSigningKey stores the first key and keeps it: later calls return
// it, and another study gets its own.
func testEnsureSigningKey(t *testing.T, f *fixture) {
	first := f.newSigningKey(studyA, f.now)
	got, err := f.store.EnsureSigningKey(f.ctx, first)
	if err != nil {
		t.Fatalf("EnsureSigningKey: %v", err)
	}
	f.wantKeys("EnsureSigningKey", []*hookshot.SigningKey{got}, first)
	again, err := f.store.EnsureSigningKey(f.ctx, f.newSigningKey(studyA, f.at(time.Minute)))
	if err != nil {
		t.Fatalf("EnsureSigningKey again: %v", err)
	}
	f.wantKeys("EnsureSigningKey again", []*hookshot.SigningKey{again}, first)
	f.wantKeys("SigningKeys", f.signingKeys(studyA, f.at(time.Hour)), first)

	other := f.newSigningKey(studyB, f.now)
	if _, err := f.store.EnsureSigningKey(f.ctx, other); err != nil {
		t.Fatalf("EnsureSigningKey of study B: %v", err)
	}
	f.wantKeys("SigningKeys of study B", f.signingKeys(studyB, f.now), other)
	f.wantKeys("SigningKeys of study A", f.signingKeys(studyA, f.now), first)
}

// Callers racing to create a study's first key agree on one.
func testEnsureSigningKeyConcurrently(t *testing.T, f *fixture) {
	const n = 8
	var wg sync.WaitGroup
	got := make([]*hookshot.SigningKey, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = f.store.EnsureSigningKey(f.ctx, f.newSigningKey(studyA, f.now))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("EnsureSigningKey %d: %v", i, errs[i])
		}
		if got[i].ID != got[0].ID {
			t.Fatalf("EnsureSigningKey %d returned key %s, and 0 returned %s", i, got[i].ID, got[0].ID)
		}
	}
	f.wantKeys("SigningKeys", f.signingKeys(studyA, f.now), got[0])
}

// A rotation ends the current key at until and adds the new one: both are
// in force before until, newest first, only the new one from until on;
// the audit entry is written with it; other studies keep their keys.
func testRotateSigningKey(t *testing.T, f *fixture) {
	old := f.newSigningKey(studyA, f.at(-time.Hour))
	if _, err := f.store.EnsureSigningKey(f.ctx, old); err != nil {
		t.Fatal(err)
	}
	other := f.newSigningKey(studyB, f.at(-time.Hour))
	if _, err := f.store.EnsureSigningKey(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	next := f.newSigningKey(studyA, f.now)
	until := f.at(24 * time.Hour)
	e := f.newEntry()
	if err := f.store.RotateSigningKey(f.ctx, next, f.now, until, e); err != nil {
		t.Fatalf("RotateSigningKey: %v", err)
	}
	if e.ID == 0 {
		t.Error("RotateSigningKey left the audit entry's ID zero")
	}
	ended := *old
	ended.ExpiresAt = &until
	f.wantKeys("SigningKeys during the overlap", f.signingKeys(studyA, f.at(time.Hour)), next, &ended)
	f.wantKeys("SigningKeys at the end of the overlap", f.signingKeys(studyA, until), next)
	f.wantKeys("SigningKeys of study B", f.signingKeys(studyB, f.at(time.Hour)), other)
	trail := f.trail()
	if len(trail) != 1 || trail[0].ID != e.ID {
		t.Errorf("audit trail has %d entries, want the rotation's", len(trail))
	}

	// The current key is the new one: EnsureSigningKey keeps it.
	got, err := f.store.EnsureSigningKey(f.ctx, f.newSigningKey(studyA, f.at(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != next.ID {
		t.Errorf("EnsureSigningKey after the rotation returned %s, want the new key %s", got.ID, next.ID)
	}
}

// Rotating a study that has no key yet just adds one.
func testRotateSigningKeyWithoutKey(t *testing.T, f *fixture) {
	k := f.newSigningKey(studyA, f.now)
	if err := f.store.RotateSigningKey(f.ctx, k, f.now, f.at(time.Hour), nil); err != nil {
		t.Fatalf("RotateSigningKey: %v", err)
	}
	f.wantKeys("SigningKeys", f.signingKeys(studyA, f.now), k)
}

// Each rotation deletes the keys that have run out, so the table holds
// only keys a receiver may still meet; a key still in its overlap stays.
func testRotateDeletesExpired(t *testing.T, f *fixture) {
	first := f.newSigningKey(studyA, f.at(-3*time.Hour))
	if _, err := f.store.EnsureSigningKey(f.ctx, first); err != nil {
		t.Fatal(err)
	}
	second := f.newSigningKey(studyA, f.at(-2*time.Hour))
	firstEnd := f.at(-time.Hour)
	if err := f.store.RotateSigningKey(f.ctx, second, f.at(-2*time.Hour), firstEnd, nil); err != nil {
		t.Fatal(err)
	}
	third := f.newSigningKey(studyA, f.now)
	secondEnd := f.at(time.Hour)
	if err := f.store.RotateSigningKey(f.ctx, third, f.now, secondEnd, nil); err != nil {
		t.Fatal(err)
	}
	ended := *second
	ended.ExpiresAt = &secondEnd
	// Asking as of long ago shows what is stored: the first key is gone.
	f.wantKeys("SigningKeys", f.signingKeys(studyA, f.at(-24*time.Hour)), third, &ended)
}
