package sqlite

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// blobWriter is a store on a fresh file whose checkpointer the test
// controls, and a table that each write transaction fills with fresh
// bytes (SQLite writes no page an update leaves as it was).
type blobWriter struct {
	s    *Store
	path string
	rng  *rand.ChaCha8
	buf  []byte
}

const blobSize = 64 << 10 // 16 pages and a bit a transaction

func newBlobWriter(t *testing.T, writerCheckpoint int) *blobWriter {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookshot.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ckpt.stop(s.e); err != nil {
		t.Fatal(err)
	}
	s.ckpt = nil
	if _, err := s.e.write.Exec(fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, writerCheckpoint)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.write.Exec(`CREATE TABLE blobs (b BLOB NOT NULL) STRICT; INSERT INTO blobs VALUES (x'')`); err != nil {
		t.Fatal(err)
	}
	return &blobWriter{s: s, path: path, rng: rand.NewChaCha8([32]byte{}), buf: make([]byte, blobSize)}
}

// start starts a checkpointer that looks at the WAL every idle.
func (w *blobWriter) start(t *testing.T, frames int, idle time.Duration) *checkpointer {
	t.Helper()
	db, err := sql.Open("sqlite", w.path+"?_synchronous=FULL")
	if err != nil {
		t.Fatal(err)
	}
	return startCheckpointer(w.s.e, db, w.path, idle, frames)
}

func (w *blobWriter) write(t *testing.T) {
	t.Helper()
	_, _ = w.rng.Read(w.buf)
	if err := w.s.e.WriteTx(t.Context(), func(tx sqlstore.Querier) error {
		_, err := tx.Exec(t.Context(), `UPDATE blobs SET b = $1`, w.buf)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (w *blobWriter) index(t *testing.T) walIndex {
	t.Helper()
	f, err := os.Open(w.path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wi, err := readWALIndex(f)
	if err != nil {
		t.Fatal(err)
	}
	return wi
}

func (w *blobWriter) walSize(t *testing.T) int64 {
	t.Helper()
	fi, err := os.Stat(w.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The checkpointer copies the WAL into the database file once the pages
// waiting pass its threshold, beside a writer that never checkpoints,
// copies the rest once the WAL is still, and after stop copies nothing.
func TestCheckpointerCopies(t *testing.T) {
	const threshold = 64
	w := newBlobWriter(t, 0)
	c := w.start(t, threshold, 10*time.Millisecond)
	for range 200 { // about 3,300 pages
		w.write(t)
	}
	// All of it, the pages left below the threshold once the WAL is
	// still. Nothing else copies: the writer never checkpoints.
	deadline := time.Now().Add(idleCheckpoint + 5*time.Second)
	for wi := w.index(t); wi.copied < wi.frames; wi = w.index(t) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages copied %s after the last write, want all", wi.copied, wi.frames, idleCheckpoint+5*time.Second)
		}
		time.Sleep(10 * time.Millisecond)
	}

	done := make(chan error, 1)
	go func() { done <- c.stop(w.s.e) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the checkpointer did not stop within 5s")
	}
	for range 20 {
		w.write(t)
	}
	time.Sleep(50 * time.Millisecond) // 5 looks of the stopped checkpointer
	if wi := w.index(t); wi.frames-wi.copied < 20*16 {
		t.Errorf("after stop and 20 writes of 16 pages or more, %d of %d pages are copied: something still checkpoints", wi.copied, wi.frames)
	}
}

// The writer's commits wake the checkpointer once its threshold of pages
// waits: with its own looks an hour apart, only that wake-up copies.
func TestCheckpointerWokenByCommits(t *testing.T) {
	const threshold = 64
	w := newBlobWriter(t, 0)
	c := w.start(t, threshold, time.Hour)
	defer c.stop(w.s.e)
	for range 10 { // about 170 pages
		w.write(t)
	}
	deadline := time.Now().Add(5 * time.Second)
	for wi := w.index(t); wi.copied < threshold; wi = w.index(t) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages copied 5s after the last write, want at least %d", wi.copied, wi.frames, threshold)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Under writes that never let up, the checkpointer and the write
// connection's own checkpoints at a higher mark keep the WAL file
// bounded; the same writes with neither grow it past the bound.
func TestCheckpointerBoundsWAL(t *testing.T) {
	const (
		writerMark = 256            // pages: 1 MiB
		written    = 48 << 20       // bytes, 48 times the mark
		bound      = int64(4 << 20) // what the WAL file may reach
		txs        = written / blobSize
	)
	for _, checkpoints := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkpoints=%v", checkpoints), func(t *testing.T) {
			w := newBlobWriter(t, 0)
			if checkpoints {
				w = newBlobWriter(t, writerMark)
				c := w.start(t, writerMark/4, 10*time.Millisecond)
				defer c.stop(w.s.e)
			}
			var largest int64
			for range txs {
				w.write(t)
				largest = max(largest, w.walSize(t))
			}
			if !checkpoints {
				if largest <= bound {
					t.Fatalf("without checkpoints the WAL reached %d bytes, want more than %d", largest, bound)
				}
				return
			}
			t.Logf("the WAL file reached %d bytes while %d were written", largest, written)
			if largest > bound {
				t.Errorf("the WAL reached %d bytes under steady writes, want at most %d", largest, bound)
			}
		})
	}
}
