// Package sqlstore is the Go code both SQL stores share; per engine only
// the dialect. Store implements hookshot.Store (but Ping and Close) and
// hookshot.AccountStore once, over an Engine that internal/sqlite and
// internal/postgres each implement: their connections (DB), how their SQL
// and values differ (Dialect), and the hot path of the queue, where the
// best statement for one database is not the best for the other (Queue).
//
// The SQL here is written once, with PostgreSQL's placeholders ($1, $2,
// ...), which the SQLite engine rewrites to its own (?1, ?2, ...). It is
// plain SQL that both databases run alike; where they differ, a Dialect
// method supplies the piece (a list parameter, a row lock, a time).
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// Querier runs statements, on a pool or inside a transaction. Placeholders
// are $1, $2, ...: the number names the argument, so one may be used twice.
type Querier interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a statement that returns rows; the caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a statement that returns at most one row. Its Scan
	// returns an error wrapping sql.ErrNoRows when there is none
	// (pgx.ErrNoRows wraps it too).
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the result of Query: pgx.Rows, or *sql.Rows behind a wrapper.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the result of QueryRow: pgx.Row or *sql.Row.
type Row interface {
	Scan(dest ...any) error
}

// DB is an engine's connections.
type DB interface {
	// Reader runs reads outside a transaction.
	Reader() Querier
	// ReadTx runs fn in a read-only transaction, so that every read in fn
	// sees the same state of the database.
	ReadTx(ctx context.Context, fn func(q Querier) error) error
	// WriteTx runs fn in a write transaction, committing when fn returns
	// nil and rolling back otherwise. It returns fn's error as it is, or
	// the error that kept the transaction from beginning or committing.
	WriteTx(ctx context.Context, fn func(tx Querier) error) error
}

// Dialect is how an engine's SQL and values differ.
type Dialect interface {
	// Name names the engine at the start of the store's errors, e.g.
	// "sqlite".
	Name() string

	// Time is the argument that stores t (already normalised by
	// Timestamp); NullTime stores nil as NULL.
	Time(t time.Time) any
	NullTime(t *time.Time) any
	// ScanTime is a Scan destination that reads a stored time into *t, in
	// UTC; ScanNullTime reads NULL as nil.
	ScanTime(t *time.Time) any
	ScanNullTime(t **time.Time) any

	// AnyOf is a condition that holds when expr equals one of the list
	// bound to the placeholder param, e.g. AnyOf("id", "$1"). The list
	// argument is Int64s or Strings; an empty list matches nothing.
	AnyOf(expr, param string) string
	Int64s(ids []int64) any
	Strings(ids []string) any

	// ForUpdate is the clause that locks the rows a SELECT reads until the
	// transaction ends, or "" when a write transaction holds the whole
	// database (SQLite), and the locking statement can be left out.
	ForUpdate() string
	// DeferForeignKeys makes tx check foreign keys at commit instead of
	// after each statement, where the schema does not declare them so.
	DeferForeignKeys(ctx context.Context, tx Querier) error
	// IsUniqueViolation reports whether err is the database refusing a
	// row that breaks a unique index.
	IsUniqueViolation(err error) bool
	// Unavailable reports whether err is the database failing rather than
	// the statement: it cannot be reached, the connection broke, it is
	// read-only or full, or a lock was held past the busy timeout. The
	// Store then wraps hookshot.ErrStorageUnavailable into err.
	Unavailable(err error) bool
	// DeliveriesDue is called in a write transaction that made deliveries
	// due now, to wake the other processes sharing the database when the
	// transaction commits (PostgreSQL's NOTIFY); SQLite has none to wake.
	DeliveriesDue(ctx context.Context, tx Querier) error
}

// Queue is the hot path of the delivery queue, where the engines' SQL
// really differs: row locks and one statement over arrays on PostgreSQL,
// the write lock and prepared statements on SQLite. The Store checks the
// arguments, normalises times, shares the rest (scanning, loading jobs,
// encoding results) and wraps the errors. A tx given to a Queue method is
// one that the engine's own WriteTx began.
type Queue interface {
	// ClaimDue leases up to c.Limit deliveries due at c.Now (normalised)
	// to c.Owner until c.Now+c.LeaseFor, in tx, skipping c.SkipWebhooks,
	// and returns them oldest due first with the end of the lease as
	// NextAttemptAt.
	ClaimDue(ctx context.Context, tx Querier, c hookshot.Claim) ([]*hookshot.Delivery, error)
	// InsertDeliveries inserts ds, whose times are normalised, in tx, and
	// returns the IDs of those it inserted: a delivery whose webhook does
	// not exist (deleted meanwhile) is left out rather than failing tx.
	InsertDeliveries(ctx context.Context, tx Querier, ds []*hookshot.Delivery) ([]string, error)
	// RecordResults stores results in tx, by the rules of
	// hookshot.Store.RecordResults but for health, which the Store records
	// in the same tx. The results are not empty and every one has an
	// attempt; their times are normalised.
	RecordResults(ctx context.Context, tx Querier, owner string, results []EncodedResult) error
	// ReleaseDeliveries gives up owner's leases on ids (not empty) by the
	// rules of hookshot.Store.ReleaseDeliveries.
	ReleaseDeliveries(ctx context.Context, owner string, ids []string) error
}

// Engine is what one database gives the Store.
type Engine interface {
	DB
	Dialect
	Queue
}

// Migrations are an engine's schema migrations.
type Migrations struct {
	// Files holds migrations/NNNN_name.sql, applied in the order of their
	// names, each in a transaction of its own.
	Files fs.FS
	// Table creates the schema_migrations table (version text primary
	// key, applied_at a time) unless it exists.
	Table string
	// Lock, when not nil, runs first in each migration's transaction and
	// must keep other processes from migrating until it ends.
	Lock func(ctx context.Context, tx Querier) error
}

// Store is hookshot.Store, but Ping and Close, and hookshot.AccountStore,
// over an Engine. It is safe for concurrent use as far as its engine is.
type Store struct {
	e          classified
	name       string
	migrations Migrations
	ready      readiness
	routes     routes
}

// New returns a Store on e. It neither connects nor migrates.
func New(e Engine, m Migrations) *Store {
	return &Store{e: classified{e}, name: e.Name(), migrations: m}
}

// MigrationNames lists the migrations/*.sql files of fsys by name without
// directory or extension (e.g. "0001_init"), in the order they apply.
func MigrationNames(fsys fs.FS) []string {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
	}
	return names
}

// Migrate applies the migrations not yet recorded in schema_migrations,
// each in its own transaction. Processes starting together may all call
// it: the write transaction (SQLite's lock from BEGIN IMMEDIATE, or what
// Migrations.Lock takes) lets one of them migrate while the others wait,
// and then find nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	for _, version := range MigrationNames(s.migrations.Files) {
		if err := s.migrate(ctx, version); err != nil {
			return fmt.Errorf("%s: migration %s: %w", s.name, version, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, version string) error {
	script, err := fs.ReadFile(s.migrations.Files, "migrations/"+version+".sql")
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return s.e.WriteTx(ctx, func(tx Querier) error {
		if s.migrations.Lock != nil {
			if err := s.migrations.Lock(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, s.migrations.Table); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
			version).Scan(&applied); err != nil {
			return fmt.Errorf("reading schema_migrations: %w", err)
		}
		if applied {
			return nil
		}
		// Without arguments both engines run every statement of the script
		// (pgx then uses the simple protocol).
		if _, err := tx.Exec(ctx, string(script)); err != nil {
			return fmt.Errorf("applying: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			version, s.e.Time(Timestamp(time.Now()))); err != nil {
			return fmt.Errorf("recording: %w", err)
		}
		return nil
	})
}

// fail returns err as it is when it is one of the errors the interfaces
// promise (ErrNotFound and the like, already saying what they are about),
// and otherwise wraps it with the engine's name and what failed.
func (s *Store) fail(err error, format string, args ...any) error {
	for _, promised := range []error{hookshot.ErrNotFound, hookshot.ErrConflict, hookshot.ErrDeliveryInProgress, hookshot.ErrIdempotencyMismatch} {
		if errors.Is(err, promised) {
			return err
		}
	}
	return fmt.Errorf("%s: %s: %w", s.name, fmt.Sprintf(format, args...), err)
}

// Timestamp normalises a time the way both stores keep it: microseconds,
// UTC. Stores normalise callers' structs too, so that what they hold after
// a write equals what a later read returns.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// stamp fills a zero time with the current time, for callers that leave
// timestamps to the store.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		return Timestamp(time.Now())
	}
	return Timestamp(t)
}

// timestampPtr normalises a time that may be absent.
func timestampPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := Timestamp(*t)
	return &u
}

// nullString stores "" as NULL; both drivers bind a nil *string as NULL.
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

// EachRow calls fn for every row of a Query, closing the rows; the
// engines use it for their own queries too.
func EachRow(rows Rows, err error, fn func(Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// collect reads every row of a Query with scan, closing the rows.
func collect[T any](rows Rows, err error, scan func(Rows) (T, error)) ([]T, error) {
	var out []T
	err = EachRow(rows, err, func(r Rows) error {
		v, err := scan(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, err
}

// params collects the arguments of a statement built from a filter.
// Values never go into the SQL text, so that the statements stay few
// (SQLite rewrites each once).
type params []any

// add binds v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// Qualified prefixes each column of a comma-separated list with a table
// alias: Qualified("d", "id, status") is "d.id, d.status".
func Qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
