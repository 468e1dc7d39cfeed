package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// Checkpoints are taken off the write path. By default SQLite checkpoints
// on the connection whose commit takes the WAL past 1,000 pages: that
// commit copies the WAL into the database file and syncs it before it
// returns, and every writer queued behind it on the one write connection
// waits too. During a prune pass that was every 14th batch, 8 to 48 ms
// each on the development machine, longer than the batch itself. So the
// write connection never checkpoints (wal_autocheckpoint=0) and a
// checkpointer, on a connection of its own, copies the WAL beside the
// writer: PASSIVE checkpoints never take the write lock.
//
// It checkpoints when the WAL holds checkpointFrames pages not yet copied,
// as the write connection did, so the file is written no more often than
// before; it learns how many there are by reading the WAL index (the -shm
// file) every poll, without a lock or a statement. Pages left below that
// are copied once the WAL has been still for idleCheckpoint.
//
// A PASSIVE checkpoint alone does not bound the WAL file: SQLite starts
// writing at the WAL's beginning again only when a write transaction
// begins with every frame already copied, which a steady stream of
// writers may never let happen. Once the WAL holds restartFrames frames,
// the checkpointer asks for a RESTART, which holds the write lock while it
// copies what is left (little, right after a PASSIVE one) and makes the
// next writer start the WAL over. The WAL file so stays near restartFrames
// pages plus what one checkpoint's time writes, and journalSizeLimit cuts
// it back after a burst has grown it past that (SQLite truncates it when
// the WAL starts over).
const (
	// checkpointPoll is how often the checkpointer reads the WAL index.
	checkpointPoll = 10 * time.Millisecond
	// checkpointFrames is the WAL pages not yet in the database file
	// that make a checkpoint: SQLite's own autocheckpoint point.
	checkpointFrames = 1000
	// idleCheckpoint is how long the WAL stays unchanged before the
	// pages it has left are copied.
	idleCheckpoint = time.Second
	// restartFrames is the WAL length, in pages, past which the
	// checkpointer restarts the WAL: 16 MiB with 4 KiB pages.
	restartFrames = 4096
	// journalSizeLimit is the size, in bytes, SQLite cuts the WAL file
	// back to when it starts the WAL over.
	journalSizeLimit = 16 << 20
	// restartWait is how long a RESTART waits for the writer and for
	// readers of old snapshots. It blocks new writers while it waits, so
	// it gives up soon and tries again at a later poll.
	restartWait = 20 * time.Millisecond
)

// checkpointer copies the WAL into the database file in the background
// (see above), from Open until Close.
type checkpointer struct {
	db      *sql.DB // a connection of its own: checkpoints never wait in the write queue
	shmPath string
	poll    time.Duration
	frames  int // pending pages that make a checkpoint
	restart int // WAL length that makes a restart

	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer checkpoints the WAL of the database at path, through
// db, until stop.
func startCheckpointer(db *sql.DB, path string, poll time.Duration, frames, restart int) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, shmPath: path + "-shm", poll: poll, frames: frames, restart: restart,
		cancel: cancel, done: make(chan struct{})}
	go c.loop(ctx)
	return c
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	var shm *os.File // opened once the first connection has made it
	defer func() {
		if shm != nil {
			shm.Close()
		}
	}()
	var last walIndex
	changed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if shm == nil {
				f, err := os.Open(c.shmPath)
				if err != nil {
					continue
				}
				shm = f
			}
			w, err := readWALIndex(shm)
			if err != nil {
				continue
			}
			if w != last {
				last, changed = w, now
			}
			pending := w.frames - w.copied
			if pending <= 0 || pending < c.frames && now.Sub(changed) < idleCheckpoint {
				continue
			}
			// A failed checkpoint costs nothing but WAL length: a later
			// poll tries again.
			_ = c.checkpoint(ctx)
			changed = now // so that a checkpoint that failed is retried at the idle pace

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

// checkpoint copies the WAL with a PASSIVE checkpoint and, when the WAL
// has grown to c.restart frames, restarts it.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	frames, copied, err := c.run(ctx, "PASSIVE")
	if err != nil || frames < c.restart || copied < frames {
		// A WAL not copied to its end has a reader on an old snapshot:
		// a RESTART would hold the writers until it ended.
		return err
	}
	_, _, err = c.run(ctx, "RESTART")
	return err
}

// run runs one checkpoint of mode and returns the WAL's length and how
// much of it is in the database file, in frames.
func (c *checkpointer) run(ctx context.Context, mode string) (frames, copied int, err error) {
	var busy int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("sqlite: %s checkpoint: %w", mode, err)
	}
	return frames, copied, nil
}

// stop ends the checkpoints, cutting one in progress short, and closes
// the connection.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}
