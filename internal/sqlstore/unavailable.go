package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookshot/hookshot"
)

// classified is an Engine whose errors say when the database itself failed:
// every error that leaves its connections, transactions and queue
// statements and that the engine's Dialect.Unavailable recognises gets
// hookshot.ErrStorageUnavailable wrapped in beside it. Classifying here,
// under every Store method, rather than in each method, means that no
// method (those to come included) can forget to, and that the API and the
// portal answer 503 to all of them alike.
//
// Transactions are handed to fn unwrapped, as the engine began them: a
// Queue method may rely on that (SQLite takes its prepared statements
// from the transaction). Their errors come back through WriteTx or
// ReadTx, which classify them.
type classified struct{ Engine }

func (c classified) classify(err error) error {
	if err == nil || errors.Is(err, hookshot.ErrStorageUnavailable) || !c.Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", hookshot.ErrStorageUnavailable, err)
}

func (c classified) Reader() Querier { return classifiedQuerier{c.Engine.Reader(), c.classify} }

func (c classified) ReadTx(ctx context.Context, fn func(q Querier) error) error {
	return c.classify(c.Engine.ReadTx(ctx, fn))
}

func (c classified) WriteTx(ctx context.Context, fn func(tx Querier) error) error {
	return c.classify(c.Engine.WriteTx(ctx, fn))
}

func (c classified) ClaimDue(ctx context.Context, tx Querier, claim hookshot.Claim) ([]*hookshot.Delivery, error) {
	ds, err := c.Engine.ClaimDue(ctx, tx, claim)
	return ds, c.classify(err)
}

func (c classified) InsertDeliveries(ctx context.Context, tx Querier, ds []*hookshot.Delivery) ([]string, error) {
	ids, err := c.Engine.InsertDeliveries(ctx, tx, ds)
	return ids, c.classify(err)
}

func (c classified) RecordResults(ctx context.Context, tx Querier, owner string, results []EncodedResult) error {
	return c.classify(c.Engine.RecordResults(ctx, tx, owner, results))
}

func (c classified) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	return c.classify(c.Engine.ReleaseDeliveries(ctx, owner, ids))
}

// classifiedQuerier classifies the errors of reads outside a transaction,
// down to the rows they return.
type classifiedQuerier struct {
	q        Querier
	classify func(error) error
}

func (q classifiedQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	n, err := q.q.Exec(ctx, query, args...)
	return n, q.classify(err)
}

func (q classifiedQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := q.q.Query(ctx, query, args...)
	if err != nil {
		return nil, q.classify(err)
	}
	return classifiedRows{rows, q.classify}, nil
}

func (q classifiedQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	return classifiedRow{q.q.QueryRow(ctx, query, args...), q.classify}
}

type classifiedRows struct {
	Rows
	classify func(error) error
}

func (r classifiedRows) Scan(dest ...any) error { return r.classify(r.Rows.Scan(dest...)) }
func (r classifiedRows) Err() error             { return r.classify(r.Rows.Err()) }

type classifiedRow struct {
	row      Row
	classify func(error) error
}

func (r classifiedRow) Scan(dest ...any) error { return r.classify(r.row.Scan(dest...)) }

// Classify returns err with hookshot.ErrStorageUnavailable wrapped in when
// the engine recognises it as a failure of the database, for the engines'
// own methods outside the Store (Ping).
func (s *Store) Classify(err error) error { return s.e.classify(err) }

// readyFor is how long a readiness answer is reused: /readyz stays cheap
// however often it is asked, and a change shows within about a second.
const readyFor = time.Second

// readiness is the cached outcome of the last probe.
type readiness struct {
	mu     sync.Mutex
	at     time.Time // when err was found; zero before the first probe
	err    error
	probes int // probes run, for tests that the cache is used
}

// Ready reports whether the database accepts reads and writes now: it
// reads, and it writes in a transaction that it then rolls back, so that a
// database that answers but refuses writes (read-only, full, its lock
// held) is not ready either. The engine's WriteTx decides what a write
// needs beyond that (SQLite checks the free space on the file's file
// system before each write, since a rolled-back write may never reach the
// disk). The outcome is kept for about a second, and callers meanwhile get
// it without a probe; concurrent callers wait for one probe. The error
// wraps hookshot.ErrStorageUnavailable when the database failed.
func (s *Store) Ready(ctx context.Context) error {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if !s.ready.at.IsZero() && time.Since(s.ready.at) < readyFor {
		return s.ready.err
	}
	err := s.probe(ctx)
	if ctx.Err() != nil && err != nil && !errors.Is(err, hookshot.ErrStorageUnavailable) {
		// The caller gave up, or its deadline passed while the database
		// kept it waiting: an answer for this caller, not one to keep.
		return fmt.Errorf("%s: readiness probe: %w: %w", s.name, hookshot.ErrStorageUnavailable, err)
	}
	s.ready.at, s.ready.err = time.Now(), err
	s.ready.probes++
	return err
}

// errProbeDone rolls the probe's write back.
var errProbeDone = errors.New("probe done")

func (s *Store) probe(ctx context.Context) error {
	var version string
	if err := s.e.Reader().QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("%s: readiness probe: reading: %w", s.name, err)
	}
	err := s.e.WriteTx(ctx, func(tx Querier) error {
		// A write that changes nothing but still needs the write lock and
		// a writable database: read-only transactions refuse it.
		if _, err := tx.Exec(ctx, `UPDATE schema_migrations SET applied_at = applied_at WHERE version = $1`, version); err != nil {
			return err
		}
		return errProbeDone
	})
	if errors.Is(err, errProbeDone) {
		return nil
	}
	return fmt.Errorf("%s: readiness probe: writing: %w", s.name, err)
}
