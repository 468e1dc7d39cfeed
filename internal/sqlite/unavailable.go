package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookshot/hookshot"
)

// Unavailable reports whether err is SQLite failing rather than the
// statement: the disk is full (SQLITE_FULL, or below the reserve, see
// checkSpace), the file or its file system is read-only (SQLITE_READONLY),
// reading or writing it failed (SQLITE_IOERR), it cannot be opened
// (SQLITE_CANTOPEN), another process kept its lock past the busy timeout
// (SQLITE_BUSY) or memory ran out (SQLITE_NOMEM). Extended codes
// (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, ...) count with their
// primary code.
func (*engine) Unavailable(err error) bool {
	var sqliteErr *msqlite.Error
	if !errors.As(err, &sqliteErr) {
		return false
	}
	switch sqliteErr.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_NOMEM:
		return true
	}
	return false
}

// spaceReserve is the free space below which the store refuses to write.
// Left to run into a full disk, SQLite fails somewhere inside a write, in
// the write-ahead log or in a checkpoint of it, and while the log can still
// reuse its own space some writes get through and others do not. Refusing
// before the disk is full is one clear state (503 and a log line naming the
// cause) that every write shares, and it keeps room for what must go on:
// the checkpoint that moves the log into the database, and an operator's
// maintenance. Elasticsearch's flood-stage watermark does the same.
const spaceReserve = 16 << 20

// checkSpace returns an error wrapping hookshot.ErrStorageUnavailable when
// the file system holding the database has less than spaceReserve free.
// It costs one statfs, a few microseconds beside a transaction's fsync,
// so each write transaction asks afresh and a freed disk is used at once.
func (e *engine) checkSpace() error {
	free, ok := freeSpace(filepath.Dir(e.path))
	if !ok || free >= spaceReserve {
		return nil
	}
	return fmt.Errorf("sqlite: the file system holding %s has %d KiB free, less than the %d MiB kept in reserve; free some space: %w",
		e.path, free>>10, spaceReserve>>20, hookshot.ErrStorageUnavailable)
}
