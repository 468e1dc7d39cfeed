package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	msqlite "modernc.org/sqlite"

	"github.com/hookshot/hookshot"
)

// Group commit. Every write transaction of the store runs on the writer, a
// goroutine of the engine that owns the one write connection. It takes the
// transactions waiting at a moment and runs them in ONE SQLite transaction,
// each in a savepoint of its own, and commits them together: with
// synchronous=FULL a COMMIT costs an fsync of the write-ahead log, and one
// fsync then makes every member of the group durable. Nobody is answered
// before the COMMIT that holds their work has returned, so a caller told
// nil has its work on disk exactly as when each transaction committed
// alone. A member whose fn fails is rolled back to its savepoint and told
// its error at once; the others go on.
//
// An idle writer begins and commits a lone caller at once. Callers that
// arrive while a group runs join it until it is groupMembers strong or has
// run for groupTime; the rest wait for the next group, which begins as
// soon as this one has committed. Only a group of nothing but unhurried
// writes (hookshot.Unhurried: the engine's recordings) waits for company:
// up to companyWait from its start, its work done and its transaction
// open, for the next caller to join it. At a light load that is the next
// publish, which so commits the attempts of the one before with its own
// deliveries: one COMMIT and one sync instead of two, and the pages both
// change (the deliveries' last pages, their indexes') written once.
const (
	// groupMembers bounds a group, so that one commit does not carry an
	// unbounded amount of work and its members' latency.
	groupMembers = 64
	// groupTime bounds the time a group spends running its members: after
	// a long member (a prune batch), the group commits rather than grow.
	groupTime = 10 * time.Millisecond
	// companyWait bounds how long a group of unhurried writes waits for
	// another caller before it commits alone: two publishes apart at 50
	// publishes a second. The wait delays only when a recorded attempt
	// becomes visible: a publish that comes meanwhile joins the waiting
	// group rather than wait for it.
	companyWait = 20 * time.Millisecond
)

// errClosed answers writes to a closed store.
var errClosed = errors.New("sqlite: the store is closed")

// errAloneFailed is member's word that the member it ran failed with no
// other work in the transaction and without a savepoint: the group rolls
// the transaction back and ends, having nobody else to answer.
var errAloneFailed = errors.New("sqlite: the only member of the write transaction failed")

// A writeRequest is one WriteTx on its way to the writer.
type writeRequest struct {
	ctx       context.Context
	fn        func(q *querier) error
	done      chan error // one outcome, buffered
	unhurried bool       // ctx is hookshot.Unhurried
}

// writer runs the engine's write transactions in groups.
type writer struct {
	e        *engine
	requests chan *writeRequest // unbuffered: a waiting caller can still leave
	closing  chan struct{}
	stopped  chan struct{}

	// committing holds the members of the running group whose work waits
	// for the group's COMMIT; reused from group to group.
	committing []*writeRequest
	commits    atomic.Int64 // COMMITs run, for the tests
	groupSize  prometheus.Histogram
	// company times a group's wait for company; reused, stopped between
	// waits.
	company *time.Timer
}

func newWriter(e *engine) *writer {
	w := &writer{
		e:        e,
		requests: make(chan *writeRequest),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookshot_sqlite_commit_group_size",
			Help:    "Write transactions committed by one SQLite COMMIT (one fsync).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
	}
	go w.run()
	return w
}

// stop lets the running group finish and ends the writer; later writes
// fail with errClosed.
func (w *writer) stop() {
	close(w.closing)
	<-w.stopped
}

// do runs fn as a member of a group and returns once the group's COMMIT
// has returned (or fn failed). A caller whose ctx ends while it waits for
// the writer leaves with ctx's error and runs nothing; once its fn has
// begun, it waits for the outcome, which tells the truth about what is
// stored. A panic in fn is raised again here, in the caller's goroutine.
// fn must not write through the store itself: it would wait for the
// writer, which waits for fn (as it waited for the one connection before).
func (w *writer) do(ctx context.Context, fn func(q *querier) error) error {
	r := &writeRequest{ctx: ctx, fn: fn, done: make(chan error, 1), unhurried: hookshot.IsUnhurried(ctx)}
	select {
	case w.requests <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closing:
		return errClosed
	}
	err := <-r.done
	if p, ok := err.(*memberPanic); ok {
		panic(p)
	}
	return err
}

func (w *writer) run() {
	defer close(w.stopped)
	for {
		select {
		case <-w.closing:
			return
		case r := <-w.requests:
			w.group(r)
		}
	}
}

// group runs first and whoever joins it in one transaction, and answers
// them all.
func (w *writer) group(first *writeRequest) {
	if err := first.ctx.Err(); err != nil {
		first.done <- err
		return
	}
	// The free space is checked once for the group, a few milliseconds
	// of writing at most.
	if err := w.e.checkSpace(); err != nil {
		first.done <- err
		return
	}
	bg := context.Background() // the group's own statements are never interrupted
	conn, err := w.e.write.Conn(bg)
	if err != nil {
		first.done <- fmt.Errorf("beginning transaction: %w", err)
		return
	}
	defer conn.Close() // back to the pool, for Close and prepare
	tx, err := conn.BeginTx(bg, nil)
	if err != nil {
		first.done <- fmt.Errorf("beginning transaction: %w", err)
		return
	}
	w.committing = w.committing[:0]
	defer clear(w.committing[:cap(w.committing)]) // the requests are garbage once answered
	start := time.Now()
	hurried := false // a member's caller waits for the COMMIT
	r := first
	for n := 1; ; n++ {
		if lost := w.member(conn, tx, r); lost != nil {
			_ = tx.Rollback() // whatever SQLite undid by itself, none of the group stays
			for _, m := range w.committing {
				m.done <- lost
			}
			return
		}
		hurried = hurried || !r.unhurried
		if n == groupMembers || time.Since(start) >= groupTime {
			break
		}
		select {
		case r = <-w.requests:
			continue // one more waiting: it joins
		default:
		}
		if !hurried && len(w.committing) > 0 {
			if r = w.awaitCompany(start.Add(companyWait)); r != nil {
				continue
			}
		}
		break
	}
	if len(w.committing) == 0 {
		_ = tx.Rollback() // every member failed: nothing to write
		return
	}
	w.commits.Add(1)
	w.groupSize.Observe(float64(len(w.committing)))
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("committing: %w", err)
	}
	for _, m := range w.committing {
		m.done <- err
	}
	if c := w.e.ckpt.Load(); err == nil && c != nil {
		c.committed()
	}
}

// awaitCompany waits until deadline for a caller to join a group of
// unhurried writes, and returns it, or nil when none came or the store is
// closing.
func (w *writer) awaitCompany(deadline time.Time) *writeRequest {
	wait := time.Until(deadline)
	if wait <= 0 {
		return nil
	}
	if w.company == nil {
		w.company = time.NewTimer(wait)
	} else {
		w.company.Reset(wait)
	}
	defer w.company.Stop()
	select {
	case r := <-w.requests:
		return r
	case <-w.company.C:
		return nil
	case <-w.closing:
		return nil
	}
}

// member runs r in tx in a savepoint of its own. It answers r at once when
// r ran nothing or failed, and otherwise adds r to w.committing. The error
// it returns means that the whole transaction is gone, as SQLite rolls
// back all of it when a statement fails for a full disk, an I/O error or
// memory running out: it is what the members before r get.
//
// A member with no work before it in tx (most groups are of one, at light
// load all) runs without a savepoint: should it fail, rolling back the
// whole transaction undoes it and nobody else. A savepoint is not free:
// SQLite copies every page a member changes first into the savepoint's
// journal, 4 KiB at a time, in case it has to roll back to it.
func (w *writer) member(conn *sql.Conn, tx *sql.Tx, r *writeRequest) (lost error) {
	if err := r.ctx.Err(); err != nil {
		r.done <- err // left while waiting: runs nothing
		return nil
	}
	bg := context.Background()
	alone := len(w.committing) == 0
	if !alone {
		if _, err := tx.ExecContext(bg, `SAVEPOINT member`); err != nil {
			err = fmt.Errorf("beginning transaction: %w", err)
			r.done <- err
			return err
		}
	}
	q := &querier{e: w.e, conn: tx, tx: tx, m: &memberState{
		caller: r.ctx,
		ctx:    context.WithoutCancel(r.ctx),
	}}
	err := runMember(r.fn, q)
	if err == nil && q.m.deferredFKs {
		err = pendingForeignKeys(conn)
	}
	switch {
	case err != nil && alone:
		r.done <- err
		return errAloneFailed // the group rolls tx back, undoing r's work and only that
	case err != nil:
		lost = w.rollBackMember(tx, err)
	case !alone:
		if _, relErr := tx.ExecContext(bg, `RELEASE member`); relErr != nil {
			lost = fmt.Errorf("sqlite: the write transaction was lost: ending a savepoint: %w", relErr)
		}
	}
	if lost == nil && q.m.deferredFKs {
		// The pragma lasts until the transaction ends; the members after
		// this one have their foreign keys checked at each statement
		// again. Switching it off forgets the violations still counted,
		// of which there are none: pendingForeignKeys found none, or the
		// rollback undid them.
		if _, offErr := tx.ExecContext(bg, `PRAGMA defer_foreign_keys = OFF`); offErr != nil {
			lost = fmt.Errorf("sqlite: the write transaction was lost: ending deferred foreign keys: %w", offErr)
		}
	}
	switch {
	case err != nil:
		r.done <- err // its own error, whatever became of the others
	case lost != nil:
		r.done <- lost
	default:
		w.committing = append(w.committing, r)
	}
	return lost
}

// rollBackMember undoes a failed member's work; its savepoint stays on
// the stack after ROLLBACK TO and is then released. Failing that, the
// transaction is gone, and the error that took it goes to the group.
func (w *writer) rollBackMember(tx *sql.Tx, cause error) (lost error) {
	bg := context.Background()
	_, err := tx.ExecContext(bg, `ROLLBACK TO member`)
	if err == nil {
		_, err = tx.ExecContext(bg, `RELEASE member`)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: the write transaction was rolled back when a write in it failed (%v): %w", err, cause)
}

// runMember calls fn, turning a panic into a *memberPanic, so that the
// writer rolls the member back and goes on, and the caller panics.
func runMember(fn func(q *querier) error, q *querier) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &memberPanic{value: v, stack: debug.Stack()}
		}
	}()
	return fn(q)
}

// memberPanic is a panic of a member's fn, raised again by its caller.
type memberPanic struct {
	value any
	stack []byte
}

func (p *memberPanic) Error() string {
	return fmt.Sprintf("%v [recovered in the SQLite writer, which rolled the write transaction back]\n\n%s", p.value, p.stack)
}

// errForeignKeys is a member's own error when it ended with a foreign key
// still failing under PRAGMA defer_foreign_keys: on its own, its COMMIT
// would have failed the same way.
var errForeignKeys = errors.New("FOREIGN KEY constraint failed (deferred, checked at the end of the write transaction)")

// pendingForeignKeys reports errForeignKeys when the connection counts
// deferred foreign key violations (sqlite3_db_status DEFERRED_FKS). SQLite
// checks them only at COMMIT, and one would fail the group's COMMIT for
// every member; savepoints keep the count, so ROLLBACK TO undoes the
// member's violations with its work.
func pendingForeignKeys(conn *sql.Conn) error {
	return conn.Raw(func(dc any) error {
		st, ok := rawConn(dc).(msqlite.DBStatus)
		if !ok {
			return fmt.Errorf("sqlite: the driver's connection (%T) reports no status", dc)
		}
		pending, _, err := st.Status(msqlite.DBStatusDeferredFKs, false)
		if err != nil {
			return fmt.Errorf("reading deferred foreign keys: %w", err)
		}
		if pending != 0 {
			return errForeignKeys
		}
		return nil
	})
}

// memberState is what a member's querier knows of it.
type memberState struct {
	// caller is the caller's context, checked before each statement with
	// the statement's own: a member whose caller gave up fails at its
	// next statement, and rolls back only its own work.
	caller context.Context
	// ctx is what the statements run under: the caller's values, but no
	// cancellation. SQLite answers an interrupted INSERT, UPDATE or DELETE
	// inside an explicit transaction by rolling back the whole
	// transaction, the other members' work with it. (It also spares the
	// driver a goroutine per statement watching for the interrupt.)
	ctx context.Context
	// deferredFKs is set by DeferForeignKeys.
	deferredFKs bool
}

// live is the context a member's statement given ctx runs under, or the
// error that ends the member instead.
func (m *memberState) live(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.caller.Err(); err != nil {
		return nil, err
	}
	return m.ctx, nil
}
