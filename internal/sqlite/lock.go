package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrHeld is returned, wrapped, by Lock when another process holds the
// database.
var ErrHeld = errors.New("another Hookshot holds the SQLite database")

// FileLock is a process's claim to be the one that serves a SQLite
// database. It is an OS lock (flock) on a file beside the database, so it
// goes with the process however that ends, kill -9 included, and never
// needs cleaning up; the file stays, holding the last holder's pid.
type FileLock struct {
	f *os.File
}

// LockPath is the lock file of the database at path.
func LockPath(path string) string { return path + ".lock" }

// Lock takes the lock of the database at path without waiting. When
// another process holds it, the error wraps ErrHeld and says what to do.
// Only serve takes it: the commands that open the database for a moment
// (accounts, tokens, migrate, prune) take turns with serve at SQLite's
// own write lock instead.
func Lock(path string) (*FileLock, error) {
	name := LockPath(path)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening the lock file %s: %w", name, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlite: locking %s: %w", name, err)
	}
	if held {
		holder := "another process"
		if b, err := os.ReadFile(name); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = "process " + strconv.Itoa(pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("%w (%s, holding %s): SQLite is for one Hookshot process; stop that one first, "+
			"or to run several processes put them on one PostgreSQL database (HOOKSHOT_DATABASE=postgres://...): %s",
			ErrHeld, holder, name, path)
	}
	// The pid is only for the message above; the lock is the flock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &FileLock{f: f}, nil
}

// Release gives the lock up. Later calls do nothing.
func (l *FileLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
