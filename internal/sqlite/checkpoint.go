package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"
)

// Checkpoints are taken off the write path. By default SQLite checkpoints
// on the connection whose commit takes the WAL past 1,000 pages: that
// commit copies the WAL into the database file and syncs it before it
// returns, and every writer queued behind it on the one write connection
// waits too. During a prune pass that was every 14th batch, 8 to 48 ms
// each on the development machine, longer than the batch itself. So a
// checkpointer, on a connection of its own, copies the WAL beside the
// writer (PASSIVE checkpoints never take the write lock) once
// checkpointFrames pages wait. The writer learns how many there are after
// each of its commits by reading the WAL index (the -shm file), without a
// lock or a statement, and wakes the checkpointer when they are enough:
// the checkpointer sleeps in between, rather than wake up every few
// milliseconds to look. Pages left below that are copied once the WAL
// has been still for idleCheckpoint, which the checkpointer looks at
// every idleCheckpoint; that look also finds the pages of commits made by
// other processes.
//
// The write connection still checkpoints, but only at writerCheckpoint
// pages, which the checkpointer has nearly all copied by then: what
// remains is to start the WAL over. SQLite does that when a write
// transaction begins with every frame copied and no reader in the WAL,
// which a checkpoint beside a steady stream of writers rarely leaves, and
// which the writer's own checkpoint, at its commit, does. The WAL file so
// stays near writerCheckpoint pages, and journalSizeLimit cuts it back
// after a burst (a long transaction, a reader holding an old snapshot)
// has grown it past that.
const (
	// checkpointFrames is the WAL pages not yet in the database file
	// that make the checkpointer copy them.
	checkpointFrames = 500
	// idleCheckpoint is how long the WAL stays unchanged before the
	// pages it has left are copied.
	idleCheckpoint = time.Second
	// writerCheckpoint is the WAL length, in pages, at which the write
	// connection checkpoints (wal_autocheckpoint): 8 MiB of 4 KiB pages.
	writerCheckpoint = 2000
	// journalSizeLimit is the size, in bytes, SQLite cuts the WAL file
	// back to when it starts the WAL over.
	journalSizeLimit = 8 << 20
)

// checkpointer copies the WAL into the database file in the background
// (see above), from Open until Close.
type checkpointer struct {
	db      *sql.DB // a connection of its own: checkpoints never wait in the write queue
	shmPath string
	idle    time.Duration
	frames  int           // pending pages that make a checkpoint
	due     chan struct{} // the writer's word that frames are pending; buffered

	// shm is the WAL index, read by the writer after each COMMIT and by
	// the loop's idle looks; opened by the first read after a connection
	// has made the file.
	shmMu sync.Mutex
	shm   *os.File

	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer checkpoints the WAL of e's database at path, through
// db, until stop, looking at an unchanged WAL every idle. e's writer tells
// it of the pages its commits add.
func startCheckpointer(e *engine, db *sql.DB, path string, idle time.Duration, frames int) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, shmPath: path + "-shm", idle: idle, frames: frames,
		due: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.loop(ctx)
	e.ckpt.Store(c)
	return c
}

// committed is the writer's word, after a COMMIT: once the WAL index says
// that c.frames pages wait to be copied, it wakes the checkpointer. An
// index it cannot read leaves the pages to the idle looks.
func (c *checkpointer) committed() {
	w, err := c.index()
	if err != nil || w.frames-w.copied < c.frames {
		return
	}
	select {
	case c.due <- struct{}{}:
	default: // already woken
	}
}

// index reads the WAL index, one pread of the -shm file.
func (c *checkpointer) index() (walIndex, error) {
	c.shmMu.Lock()
	if c.shm == nil {
		f, err := os.Open(c.shmPath)
		if err != nil {
			c.shmMu.Unlock()
			return walIndex{}, err
		}
		c.shm = f
	}
	shm := c.shm
	c.shmMu.Unlock()
	return readWALIndex(shm)
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.idle)
	defer tick.Stop()
	var last walIndex
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.due:
			// A failed checkpoint costs nothing but WAL length: the
			// writer's next commit wakes us again.
			_ = c.checkpoint(ctx)
		case <-tick.C:
			w, err := c.index()
			if err != nil {
				continue
			}
			// Unchanged since the last look: still for an interval.
			still := w == last
			last = w
			if w.frames > w.copied && (still || w.frames-w.copied >= c.frames) {
				_ = c.checkpoint(ctx)
			}
		}
	}
}

// walIndex is what the checkpointer reads of the WAL index.
type walIndex struct {
	frames int // the WAL's length in pages (mxFrame)
	copied int // how many of them are in the database file (nBackfill)
}

// readWALIndex reads the WAL index header of wal.c, in the byte order of
// the machine: mxFrame at byte 16 of the header, nBackfill at byte 96, the
// checkpoint information after the header's two copies. It takes no lock:
// a value torn by a concurrent writer only moves a checkpoint by a poll.
func readWALIndex(shm *os.File) (walIndex, error) {
	var b [100]byte
	if _, err := shm.ReadAt(b[:], 0); err != nil {
		return walIndex{}, err
	}
	return walIndex{
		frames: int(binary.NativeEndian.Uint32(b[16:])),
		copied: int(binary.NativeEndian.Uint32(b[96:])),
	}, nil
}

// checkpoint copies the WAL with a PASSIVE checkpoint. Writers went on
// while it copied: what they added is copied at once, while it is little,
// so that the writer's own checkpoint finds little left.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, copied, err := c.run(ctx)
	for range catchUps {
		if err != nil || copied >= frames {
			break
		}
		frames, copied, err = c.run(ctx)
	}
	return err
}

// catchUps is how many more PASSIVE checkpoints follow one that writers
// outran.
const catchUps = 2

// run runs one PASSIVE checkpoint and returns the WAL's length and how
// much of it is in the database file, in frames.
func (c *checkpointer) run(ctx context.Context) (frames, copied int, err error) {
	var busy int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	return frames, copied, nil
}

// stop ends the checkpoints, cutting one in progress short, and closes
// the connection. The writer no longer tells it of its commits.
func (c *checkpointer) stop(e *engine) error {
	e.ckpt.CompareAndSwap(c, nil)
	c.cancel()
	<-c.done
	c.shmMu.Lock()
	if c.shm != nil {
		c.shm.Close()
		c.shm = nil
	}
	c.shmMu.Unlock()
	return c.db.Close()
}
