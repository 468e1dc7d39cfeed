// Package postgres is the hookshot.Store on PostgreSQL. Several hookshot
// processes may share one database: the deliveries table is the queue,
// claimed with FOR UPDATE SKIP LOCKED under time-limited leases, and
// LISTEN/NOTIFY tells the other processes when deliveries became due. The
// Go code above the SQL is internal/sqlstore's; this package gives it
// PostgreSQL's connections (pgx, natively), dialect and queue statements.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlstore"
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

// Store is a hookshot.Store, hookshot.AccountStore and hookshot.Waker on
// PostgreSQL. It is safe for concurrent use, and any number of Stores, in
// any number of processes, may share one database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool

	// closed ends the Wakeups listeners, and the engine's announce,
	// when the store is closed.
	closed    context.Context
	close     context.CancelFunc
	listeners sync.WaitGroup
}

var (
	_ hookshot.Store        = (*Store)(nil)
	_ hookshot.AccountStore = (*Store)(nil)
	_ hookshot.Waker        = (*Store)(nil)
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
	e := newEngine(pool)
	s := &Store{Store: sqlstore.New(e, migrations), pool: pool, closed: closed, close: cancel}
	s.listeners.Add(1)
	go func() {
		defer s.listeners.Done()
		e.announce(closed)
	}()
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
		return s.Classify(fmt.Errorf("postgres: ping: %w", err))
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
func Migrations() []string { return sqlstore.MigrationNames(migrationFiles) }

// migrations are the schema migrations and how they are recorded.
var migrations = sqlstore.Migrations{
	Files: migrationFiles,
	Table: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`,
	Lock: lockMigrations,
}

// lockMigrations takes a transaction-scoped advisory lock, keyed by the
// schema, so that of processes starting together one migrates while the
// others wait and then find nothing left to do.
func lockMigrations(ctx context.Context, tx sqlstore.Querier) error {
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
	return nil
}
