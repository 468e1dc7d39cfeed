// Package sqlite is the hookshot.Store on SQLite, for a single hookshot
// process: the database is one file beside the binary and needs no server.
// The Go code above the SQL is internal/sqlstore's; this package gives it
// SQLite's connections, dialect and queue statements.
//
// The deliveries table is the queue. A claim moves a delivery's due time to
// the end of its lease, so a leased delivery is simply not due until the
// lease runs out; a process that crashed holding leases loses them by
// itself. Writes go through one connection, in transactions that take the
// write lock at BEGIN (BEGIN IMMEDIATE): SQLite allows one writer at a time
// anyway, and queueing writers in Go is cheaper and fairer than letting them
// retry on SQLITE_BUSY. Reads use a pool of their own, which WAL mode lets
// run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	msqlite "modernc.org/sqlite" // also registers the pure-Go "sqlite" driver

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readConns is the size of the read pool: enough for the API and portal to
// read beside each other; SQLite readers in WAL mode do not block the writer.
const readConns = 4

// busyTimeout is how long a connection waits for a lock held by another
// process (an operator's "hookshot migrate", a backup) before failing.
const busyTimeout = 10 * time.Second

// Store is a hookshot.Store and hookshot.AccountStore on SQLite. It is
// safe for concurrent use by one process. Several processes may open the
// same file, but they take turns at writing and only one of them should
// run the delivery engine.
type Store struct {
	*sqlstore.Store
	e    *engine
	ckpt *checkpointer

	closeOnce sync.Once
	closeErr  error
}

var (
	_ hookshot.Store        = (*Store)(nil)
	_ hookshot.AccountStore = (*Store)(nil)
)

// migrations are the schema migrations and how they are recorded. Since
// each runs in a write transaction, which holds the write lock from its
// start, processes opening the same file at once take turns.
var migrations = sqlstore.Migrations{
	Files: migrationFiles,
	Table: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`,
}

// Open opens, or creates, the database file at path, applies pending
// migrations and prepares the queue's statements. The file is put in WAL
// mode, which persists, with foreign keys enforced and synchronous=FULL so
// that a publish that returned survives a power cut, not only a crash.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver would take what follows for connection parameters.
		return nil, fmt.Errorf("sqlite: database path %q contains ? or #", path)
	}
	if path == ":memory:" {
		// Each connection would get a database of its own, so the read
		// pool would never see what the writer wrote.
		return nil, errors.New("sqlite: an in-memory database is not supported; use a file, e.g. in a temporary directory")
	}
	syncDataOnly()
	base := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1", path, busyTimeout.Milliseconds())
	e := &engine{path: path}
	// temp_store=MEMORY keeps the savepoints' journal, which the group
	// commit's members write (group.go), in memory rather than in a
	// temporary file written page by page; it serves only to roll a member
	// back, never to recover the database. The write connection
	// checkpoints only what the checkpointer, on a connection of its own,
	// has not copied yet (checkpoint.go).
	write, err := openDB(base+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_pragma=temp_store(MEMORY)"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", writerCheckpoint, journalSizeLimit), &e.caching)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	// One connection: SQLite has one writer at a time, and a single
	// connection also makes the prepared statements below stay prepared.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	e.write = write
	s := &Store{Store: sqlstore.New(e, migrations), e: e}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	e.writer = newWriter(e)
	// Once the write connection has put the file in WAL mode, before the
	// migrations write to it.
	ckpt, err := sql.Open("sqlite", path+"?_synchronous=FULL")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: opening %s for checkpoints: %w", path, err)
	}
	s.ckpt = startCheckpointer(e, ckpt, path, idleCheckpoint, checkpointFrames)
	// Migrate before the read pool opens, so that its connections find the
	// file already in WAL mode.
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	e.caching.Store(true) // the schema is the one the store's statements are written for
	read, err := openDB(base+"&_query_only=1", &e.caching)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: opening %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	e.read = read
	e.reader = e.querier(read, nil)
	if err := e.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
	}
	return s, nil
}

// syncDataOnly makes SQLite commit with fdatasync(2) rather than fsync(2),
// as SQLite built by its own configure script does on Linux: the driver's
// library, transpiled from the amalgamation, keeps the source default.
// fdatasync writes the data and the metadata needed to read it back (the
// file's size included), all that a commit needs to survive a power cut;
// it leaves out the timestamps, whose update ext4 otherwise commits to
// its journal at every sync. The setting is the process's; where
// fdatasync does not exist, SQLite goes on with fsync.
func syncDataOnly() {
	_, _ = msqlite.Fdatasync(true)
}

// Ping reports whether the database file can be read, by reading it
// through the read pool. It does not wait for the write connection, which
// the delivery engine may keep busy: a loaded store is still a ready one.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.e.read.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one); err != nil {
		return s.Classify(fmt.Errorf("sqlite: ping: %w", err))
	}
	return nil
}

// Close ends the writer, once the write transactions it runs have
// committed; later writes fail. It closes the prepared statements and both
// connection pools, returning every error met. Later calls do nothing and return the first
// call's result, so a deferred Close after an explicit one is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.e.writer.stop() // after the group it runs, if any
		var errs []error
		if s.ckpt != nil {
			errs = append(errs, s.ckpt.stop(s.e))
		}
		for st := range s.e.statements() {
			if *st != nil {
				errs = append(errs, (*st).Close())
			}
		}
		if s.e.read != nil {
			errs = append(errs, s.e.read.Close())
		}
		errs = append(errs, s.e.write.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: closing: %w", err)
		}
	})
	return s.closeErr
}

// Metrics are the store's Prometheus collectors:
// hookshot_sqlite_commit_group_size, how many write transactions each
// COMMIT carried (see group.go).
func (s *Store) Metrics() []prometheus.Collector { return []prometheus.Collector{s.e.writer.groupSize} }

// Migrations returns the names of the schema migrations in the order they
// are applied, e.g. "0001_init". The PostgreSQL store has the same list.
func Migrations() []string { return sqlstore.MigrationNames(migrationFiles) }
