package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints are taken off the write path. By default SQLite checkpoints
// on the connection whose commit takes the WAL past 1,000 pages: that
// commit copies the WAL into the database file and syncs it before it
// returns, and every writer queued behind it on the one write connection
// waits too. Under a prune pass, which dirties pages fast, that put tens of
// milliseconds on the publish or record that happened to commit next. So
// the write connection never checkpoints (wal_autocheckpoint=0) and a
// checkpointer, on a connection of its own, copies the WAL beside the
// writer: PASSIVE checkpoints never take the write lock.
//
// A PASSIVE checkpoint alone does not bound the WAL file: SQLite starts
// writing at the WAL's beginning again only when a write transaction
// begins with every frame already copied, which a steady stream of
// writers may never let happen. Once the WAL holds restartFrames frames,
// the checkpointer asks for a RESTART, which holds the write lock while it
// copies what is left (little, right after a PASSIVE one) and makes the
// next writer start the WAL over. The WAL file so stays near restartFrames
// pages plus what one interval writes, and journalSizeLimit cuts it back
// after a burst has grown it past that (SQLite truncates it when the WAL
// starts over).
const (
	// checkpointInterval is how often the checkpointer copies the WAL.
	checkpointInterval = 100 * time.Millisecond
	// restartFrames is the WAL length, in pages, past which the
	// checkpointer restarts the WAL: 16 MiB with 4 KiB pages.
	restartFrames = 4096
	// journalSizeLimit is the size, in bytes, SQLite cuts the WAL file
	// back to when it starts the WAL over.
	journalSizeLimit = 16 << 20
	// restartWait is how long a RESTART waits for the writer and for
	// readers of old snapshots. It blocks new writers while it waits, so
	// it gives up soon and tries again at a later interval.
	restartWait = 20 * time.Millisecond
)

// checkpointer copies the WAL into the database file in the background
// (see above), from Open until Close.
type checkpointer struct {
	db       *sql.DB // a connection of its own: checkpoints never wait in the write queue
	interval time.Duration
	restart  int // frames

	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer checkpoints db's WAL every interval until stop.
func startCheckpointer(db *sql.DB, interval time.Duration, restart int) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, interval: interval, restart: restart, cancel: cancel, done: make(chan struct{})}
	go c.loop(ctx)
	return c
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A failed checkpoint costs nothing but WAL length: the next
		// interval tries again.
		_, _ = c.checkpoint(ctx)
	}
}

// stop ends the checkpoints, cutting one in progress short, and closes
// the connection. It is safe twice.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}

// checkpoint copies the WAL with a PASSIVE checkpoint and, when the WAL
// has grown to c.restart frames, restarts it. It returns the WAL's length
// in frames as the last checkpoint left it.
func (c *checkpointer) checkpoint(ctx context.Context) (int, error) {
	frames, copied, err := c.run(ctx, "PASSIVE")
	if err != nil || frames < c.restart || copied < frames {
		// A WAL not copied to its end has a reader on an old snapshot:
		// a RESTART would hold the writers until it ended.
		return frames, err
	}
	frames, _, err = c.run(ctx, "RESTART")
	return frames, err
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
