package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// engine is sqlstore.Engine on PostgreSQL: pgx's pool, the dialect
// (below) and the queue's statements (queue.go). Arguments go to pgx as
// they are, so slices bind as arrays and times as timestamptz.
type engine struct {
	pool *pgxpool.Pool
	// wake asks announce for a notification: it holds at most one, so
	// the commits that ask while one is being sent share the next.
	wake chan struct{}
}

func newEngine(pool *pgxpool.Pool) *engine {
	return &engine{pool: pool, wake: make(chan struct{}, 1)}
}

var _ sqlstore.Engine = (*engine)(nil)

func (e *engine) Reader() sqlstore.Querier { return querier{conn: e.pool} }

// ReadTx runs fn in a REPEATABLE READ transaction, whose reads all see
// one snapshot.
func (e *engine) ReadTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(querier{conn: tx}) })
}

// WriteTx runs fn in a transaction and, once it has committed, has the
// other processes woken if fn made deliveries due (DeliveriesDue).
func (e *engine) WriteTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	var due bool
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error { return fn(querier{conn: tx, due: &due}) })
	if err == nil && due {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return err
}

// conn is a *pgxpool.Pool or a pgx.Tx.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// queuePlans fixes, for the rest of a transaction, the plans of the
// queue's statements over arrays (claimSQL, recordSQL) to the ones they
// are written for: row by row through the primary keys, and through the
// due index in its order, so that a batch costs the same whatever the
// size of the tables and of the backlog. Left to choose, PostgreSQL chose
// by estimates that are wrong on tables without current statistics (new
// ones, or autovacuum off) and that a cached plan keeps once made:
// claims read and sorted every due delivery to lease 256, and recording
// hashed all of deliveries (and events) to move 256 of them on, costs
// that grew with the backlog and the tables until a run that fell behind
// stayed behind. The plan is generic, made once per connection, rather
// than planned again for each batch.
const queuePlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
	set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
	set_config('enable_sort', 'off', true)`

// withQueuePlans runs query in tx under queuePlans, and hands its rows to
// each, in one round trip.
func withQueuePlans(ctx context.Context, tx sqlstore.Querier, query string, args []any, each func(sqlstore.Rows) error) (err error) {
	q, ok := tx.(querier)
	if !ok {
		return fmt.Errorf("postgres: %T is not a transaction of this engine", tx)
	}
	b := &pgx.Batch{}
	b.Queue(queuePlans)
	b.Queue(query, args...)
	br := q.conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	return sqlstore.EachRow(rows, err, each)
}

// querier is a sqlstore.Querier on pgx.
type querier struct {
	conn conn
	// due, in a WriteTx, is set by DeliveriesDue.
	due *bool
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.conn.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.conn.QueryRow(ctx, query, args...)
}

// The dialect.

func (*engine) Name() string { return "postgres" }

func (*engine) Time(t time.Time) any { return t }

func (*engine) NullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func (*engine) ScanTime(t *time.Time) any      { return utc{t} }
func (*engine) ScanNullTime(t **time.Time) any { return nullUTC{t} }

// utc reads a timestamptz in UTC (pgx would give the local time zone),
// through pgx's own scanning interface, which costs no more than scanning
// into a time.Time.
type utc struct{ t *time.Time }

func (u utc) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid || v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("reading a time: got %v, want a finite timestamptz", v)
	}
	*u.t = v.Time.UTC()
	return nil
}

// nullUTC reads a timestamptz that may be NULL.
type nullUTC struct{ t **time.Time }

func (u nullUTC) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*u.t = nil
		return nil
	}
	var t time.Time
	if err := (utc{&t}).ScanTimestamptz(v); err != nil {
		return err
	}
	*u.t = &t
	return nil
}

func (*engine) AnyOf(expr, param string) string { return expr + " = ANY(" + param + ")" }

func (*engine) Int64s(ids []int64) any {
	if ids == nil {
		return []int64{} // NULL would make = ANY NULL, and NOT ... = ANY filter every row
	}
	return ids
}

func (*engine) Strings(ids []string) any {
	if ids == nil {
		return []string{}
	}
	return ids
}

func (*engine) ForUpdate() string { return "FOR UPDATE" }

// DeferForeignKeys does nothing: the one foreign key a transaction writes
// before its target (idempotency_keys.event_id) is DEFERRABLE INITIALLY
// DEFERRED.
func (*engine) DeferForeignKeys(context.Context, sqlstore.Querier) error { return nil }

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation.
func (*engine) IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// DeliveriesDue announces due deliveries to every listening process once
// tx, a WriteTx, has committed, and never when it rolls back: nobody
// wakes up for work that does not exist. The notification is sent after
// the commit, in a transaction of its own (see announce), rather than in
// tx: PostgreSQL serialises the commits of transactions that notify under
// one lock held through their WAL flush, so publishes that notified
// committed one fsync after another instead of sharing them.
func (*engine) DeliveriesDue(ctx context.Context, tx sqlstore.Querier) error {
	q, ok := tx.(querier)
	if !ok || q.due == nil {
		return fmt.Errorf("notifying %s: %T is not a write transaction of this engine", notifyChannel, tx)
	}
	*q.due = true
	return nil
}

// announce sends a notification for each wake until ctx ends, so for
// every commit that made deliveries due one begins after it. A
// transaction that only notifies writes no WAL of its own, so its commit
// waits for no flush. A notification that fails is not retried: the
// other processes poll (--poll-interval) besides listening.
func (e *engine) announce(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		}
		_, _ = e.pool.Exec(ctx, `SELECT pg_notify(`+channelSQL+`, '')`, notifyChannel)
	}
}
