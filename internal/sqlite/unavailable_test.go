package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlite"
	"github.com/hookshot/hookshot/internal/storetest"
)

// The database's disk fills up for real: the store lives on a small tmpfs
// that the test fills with a file until the kernel says ENOSPC, and then
// empties again. Mounting needs root; without it the test skips, except
// under CI.
func TestUnavailableOnFullDisk(t *testing.T) {
	storetest.RunUnavailable(t, func(t *testing.T) (hookshot.Store, func(t *testing.T), func(t *testing.T)) {
		dir := smallDisk(t, 32<<20)
		filler := filepath.Join(dir, "filler")
		return open(t, filepath.Join(dir, "hookshot.db")), func(t *testing.T) { fill(t, filler) }, func(t *testing.T) {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// smallDisk mounts a tmpfs of size bytes, unmounted when the test ends
// (after the store opened later is closed: cleanups run last in, first
// out).
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hookshot-small-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount a small tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a small tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for err == nil {
		_, err = f.Write(chunk)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", path, err)
	}
}

// SQLite's own failures, each produced for real on a database file, are
// classified as the storage being unavailable; a statement's own mistakes
// are not.
func TestUnavailableClassification(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "classify.db")
	db, err := sql.Open("sqlite", path+"?_busy_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	mustExec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`)
	mustExec(`INSERT INTO t (id) VALUES (1)`)

	full := func() error {
		// A database may not grow past max_page_count: SQLITE_FULL, as
		// on a full disk.
		mustExec(`PRAGMA max_page_count = 3`)
		defer mustExec(`PRAGMA max_page_count = 1073741823`)
		_, err := db.Exec(`INSERT INTO t (v) VALUES (randomblob(65536))`)
		return err
	}
	readOnly := func() error {
		ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		_, err = ro.Exec(`INSERT INTO t (id) VALUES (2)`)
		return err
	}
	busy := func() error {
		other, err := sql.Open("sqlite", path+"?_busy_timeout=1&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		tx, err := other.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = db.Exec(`INSERT INTO t (id) VALUES (3)`)
		return err
	}
	cantOpen := func() error {
		missing, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "no-such-dir", "x.db")+"?mode=rw")
		if err != nil {
			t.Fatal(err)
		}
		defer missing.Close()
		return missing.Ping()
	}
	unique := func() error { _, err := db.Exec(`INSERT INTO t (id) VALUES (1)`); return err }
	syntax := func() error { _, err := db.Exec(`INSERT INTO nowhere VALUES (1)`); return err }

	for _, c := range []struct {
		name string
		make func() error
		want bool
	}{
		{"SQLITE_FULL", full, true},
		{"SQLITE_READONLY", readOnly, true},
		{"SQLITE_BUSY", busy, true},
		{"SQLITE_CANTOPEN", cantOpen, true},
		{"UNIQUE constraint", unique, false},
		{"no such table", syntax, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.make()
			if err == nil {
				t.Fatalf("no error: the test did not make the failure")
			}
			t.Logf("%v", err)
			if got := sqlite.Unavailable(fmt.Errorf("wrapped: %w", err)); got != c.want {
				t.Fatalf("Unavailable(%v) = %v, want %v", err, got, c.want)
			}
		})
	}
}
