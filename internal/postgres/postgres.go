// Package postgres is the hookshot.Store on PostgreSQL. Several hookshot
// processes may share one database: the deliveries table is the queue,
// claimed with FOR UPDATE SKIP LOCKED under time-limited leases, and
// LISTEN/NOTIFY tells the other processes when deliveries became due.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/columns"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// notifyChannel is the prefix of the LISTEN/NOTIFY channel on which a
// process announces deliveries that are due now. Channels belong to the
// database, not to a schema, so the schema's name completes it: Hookshots
// in other schemas of the same database do not wake each other.
const notifyChannel = "hookshot:"

// channelSQL computes the channel in the session's schema.
const channelSQL = `$1 || current_schema()`

// Store is a hookshot.Store and hookshot.Waker on PostgreSQL. It is safe
// for concurrent use, and any number of Stores, in any number of processes,
// may share one database.
type Store struct {
	pool *pgxpool.Pool

	// closed ends the Wakeups listeners when the store is closed.
	closed    context.Context
	close     context.CancelFunc
	listeners sync.WaitGroup
}

var (
	_ hookshot.Store = (*Store)(nil)
	_ hookshot.Waker = (*Store)(nil)
)

// defaultPoolSize is the connection pool size unless the URL sets
// pool_max_conns.
const defaultPoolSize = 16

// Open connects to the database at url (postgres://...), checks that it
// answers and applies pending migrations. Parameters in the URL are passed
// on to pgx: search_path=name puts every table in that schema (which must
// exist), and pool_max_conns sizes the connection pool.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing database URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx sizes the pool by CPU count (4 here), too few for API
		// requests, claims and recording to overlap; their round trips
		// would queue behind each other instead.
		cfg.MaxConns = defaultPoolSize
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: creating connection pool: %w", err)
	}
	closed, cancel := context.WithCancel(context.Background())
	s := &Store{pool: pool, closed: closed, close: cancel}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping reports whether the database can be reached.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the Wakeups listeners and closes all connections. It always
// returns nil.
func (s *Store) Close() error {
	s.close()
	s.listeners.Wait()
	s.pool.Close()
	return nil
}

// Migrations returns the names of the schema migrations in the order they
// are applied, e.g. "0001_init". The SQLite store has the same list.
func Migrations() []string { return columns.MigrationNames(migrationFiles) }

// Migrate applies the migrations not yet recorded in schema_migrations,
// each in its own transaction. Processes starting together may all call
// it: a transaction-scoped advisory lock, keyed by the schema, lets one of
// them migrate while the others wait and then find nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	for _, version := range Migrations() {
		if err := s.migrate(ctx, version); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", version, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, version string) error {
	script, err := migrationFiles.ReadFile("migrations/" + version + ".sql")
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hookshot.migrate.' || coalesce(current_schema(), '')))`); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("reading the current schema: %w", err)
		}
		if schema == nil {
			return errors.New("no schema on the search_path exists; create it, or fix search_path in the database URL")
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    text PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
		if applied {
			return nil
		}
		// Without arguments pgx uses the simple protocol, which runs a
		// script of several statements.
		if _, err := tx.Exec(ctx, string(script)); err != nil {
			return fmt.Errorf("applying: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		return nil
	})
}

// notify announces due deliveries to every listening process. Inside a
// transaction, PostgreSQL sends it on commit and drops it on rollback, so
// nobody wakes up for work that does not exist.
func notify(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify(`+channelSQL+`, '')`, notifyChannel); err != nil {
		return fmt.Errorf("notifying %s: %w", notifyChannel, err)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
