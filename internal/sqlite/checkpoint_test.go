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

// Under writes that never let up, the checkpointer keeps the WAL file
// bounded, everything written reaches the database file, and it stops
// cleanly. The same writes without it grow the WAL past the bound, so the
// bound is the checkpointer's doing.
func TestCheckpointerBoundsWAL(t *testing.T) {
	const (
		restart = 256                // frames: 1 MiB of 4 KiB pages
		written = 48 << 20           // bytes of blobs, 48 times the restart point
		bound   = int64(8 << 20)     // what the WAL file may reach
		blob    = 64 << 10           // bytes a transaction writes
		txs     = written / blob     // transactions
		limit   = int64(2 * written) // the WAL without checkpoints stays under this
	)
	for _, checkpoints := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkpoints=%v", checkpoints), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hookshot.db")
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The store's own checkpointer gives way to one whose
			// restart point this test can reach quickly.
			if err := s.ckpt.stop(); err != nil {
				t.Fatal(err)
			}
			s.ckpt = nil
			var c *checkpointer
			if checkpoints {
				c = startCheckpointer(openCheckpointConn(t, path), path, time.Millisecond, restart/4, restart)
			}
			if _, err := s.e.write.Exec(`CREATE TABLE blobs (b BLOB NOT NULL) STRICT`); err != nil {
				t.Fatal(err)
			}
			payload := make([]byte, blob)
			rng := rand.NewChaCha8([32]byte{})
			var largest int64
			for range txs {
				err := s.e.WriteTx(t.Context(), func(tx sqlstore.Querier) error {
					// Each transaction replaces the last one's rows, so the
					// database stays small and only the WAL could grow.
					if _, err := tx.Exec(t.Context(), `DELETE FROM blobs`); err != nil {
						return err
					}
					_, _ = rng.Read(payload)
					_, err := tx.Exec(t.Context(), `INSERT INTO blobs (b) VALUES ($1)`, payload)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				largest = max(largest, walSize(t, path))
			}
			if !checkpoints {
				if largest <= bound || largest > limit {
					t.Fatalf("without checkpoints the WAL reached %d bytes, want more than %d (and at most %d)", largest, bound, limit)
				}
				return
			}
			t.Logf("the WAL file reached %d bytes while %d were written", largest, written)
			if largest > bound {
				t.Errorf("the WAL reached %d bytes under steady writes, want at most %d", largest, bound)
			}

			done := make(chan error, 1)
			go func() { done <- c.stop() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("stop: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the checkpointer did not stop within 5s")
			}
			// Stopped: nothing restarts the WAL any more, so the same
			// writes grow it past the bound.
			for range 3 * bound / blob {
				// Fresh bytes: SQLite writes no page an update leaves as it was.
				_, _ = rng.Read(payload)
				if err := s.e.WriteTx(t.Context(), func(tx sqlstore.Querier) error {
					_, err := tx.Exec(t.Context(), `UPDATE blobs SET b = $1`, payload)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			if size := walSize(t, path); size <= bound {
				t.Errorf("after stop the WAL is %d bytes, want more than %d: something still checkpoints", size, bound)
			}
		})
	}
}

func openCheckpointConn(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_busy_timeout=%d&_synchronous=FULL", path, restartWait.Milliseconds()))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
