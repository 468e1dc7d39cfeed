// Package sqlite is the hookshot.Store on SQLite, for a single hookshot
// process: the database is one file beside the binary and needs no server.
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

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readConns is the size of the read pool: enough for the API and portal to
// read beside each other; SQLite readers in WAL mode do not block the writer.
const readConns = 4

// busyTimeout is how long a connection waits for a lock held by another
// process (an operator's "hookshot migrate", a backup) before failing.
const busyTimeout = 10 * time.Second

// Store is a hookshot.Store on SQLite. It is safe for concurrent use by
// one process. Several processes may open the same file, but they take
// turns at writing and only one of them should run the delivery engine.
type Store struct {
	write *sql.DB // one connection; every transaction begins IMMEDIATE
	read  *sql.DB // several connections, queries only

	// Statements of the queue's hot path, prepared once on the write
	// connection and reused by every transaction (see prepare).
	claimSelect, claimUpdate, loadWebhooks, loadPayloads *sql.Stmt
	recordAttempt, recordDelivery, recordValidation      *sql.Stmt
	release                                              *sql.Stmt

	closeOnce sync.Once
	closeErr  error
}

var _ hookshot.Store = (*Store)(nil)

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
	base := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1", path, busyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", base+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	// One connection: SQLite has one writer at a time, and a single
	// connection also makes the prepared statements below stay prepared.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	// Migrate before the read pool opens, so that its connections find the
	// file already in WAL mode.
	if err := s.Migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", base+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	s.read = read
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
	}
	return s, nil
}

// Ping reports whether the database file can be read, by reading it
// through the read pool. It does not wait for the write connection, which
// the delivery engine may keep busy: a loaded store is still a ready one.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both connection pools,
// returning every error met. Later calls do nothing and return the first
// call's result, so a deferred Close after an explicit one is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, st := range []*sql.Stmt{s.claimSelect, s.claimUpdate, s.loadWebhooks, s.loadPayloads,
			s.recordAttempt, s.recordDelivery, s.recordValidation, s.release} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		if s.read != nil {
			errs = append(errs, s.read.Close())
		}
		errs = append(errs, s.write.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: closing: %w", err)
		}
	})
	return s.closeErr
}

// Migrations returns the names of the schema migrations in the order they
// are applied, e.g. "0001_init". The PostgreSQL store has the same list.
func Migrations() []string { return columns.MigrationNames(migrationFiles) }

// Migrate applies the migrations not yet recorded in schema_migrations,
// each in its own transaction. Since that transaction holds the write lock
// from its start, processes opening the same file at once take turns, and
// the later ones find nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	for _, version := range Migrations() {
		if err := s.migrate(ctx, version); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", version, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, version string) error {
	script, err := migrationFiles.ReadFile("migrations/" + version + ".sql")
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    TEXT PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`,
			version).Scan(&applied); err != nil {
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
		if applied {
			return nil
		}
		// Without arguments the driver runs every statement of the script.
		if _, err := tx.ExecContext(ctx, string(script)); err != nil {
			return fmt.Errorf("applying: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
			version, micros(time.Now())); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		return nil
	})
}

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn says more
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// micros is how the store keeps a time: INTEGER unix microseconds, the
// precision the service truncates every time to.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a time kept by micros, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
