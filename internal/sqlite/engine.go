package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// engine is sqlstore.Engine on SQLite: the connections, the dialect
// (below) and the queue's statements (queue.go).
type engine struct {
	path   string  // the database file, for the free-space check
	write  *sql.DB // one connection; every transaction begins IMMEDIATE
	read   *sql.DB // several connections, queries only
	reader *querier
	writer *writer // runs every write transaction, on write
	// ckpt is the checkpointer the writer tells of its commits, if any.
	ckpt atomic.Pointer[checkpointer]

	// rewritten maps the store's statements, written with $1, $2, ...,
	// to SQLite's ?1, ?2, ...: each is rewritten once, on first use.
	rewritten sync.Map

	// caching lets the connections keep the statements they run prepared
	// (stmtcache.go); set once the migrations have run.
	caching atomic.Bool

	// Statements of the queue's hot path, prepared once on the write
	// connection and reused by every transaction (see prepare).
	claimSelect, claimUpdate, insertDelivery                              *sql.Stmt
	recordAttempt, recordMoved, recordDelivery, recordValidation, release *sql.Stmt
	healthForget, insertChecked                                           *sql.Stmt
	// insertLeased inserts a delivery a publish hands to its engine.
	insertLeased *sql.Stmt
}

var _ sqlstore.Engine = (*engine)(nil)

func (e *engine) Reader() sqlstore.Querier { return e.reader }

// ReadTx runs fn in a read-only transaction of the read pool.
func (e *engine) ReadTx(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	tx, err := e.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("beginning read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to undo
	return fn(e.querier(tx, tx))
}

// WriteTx runs fn as a member of a group of write transactions, which
// share one SQLite transaction and its COMMIT (see group.go). It returns
// once the COMMIT holding fn's work has returned. It writes nothing while
// the disk is below its reserve (checkSpace).
func (e *engine) WriteTx(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	return e.writer.do(ctx, func(q *querier) error { return fn(q) })
}

// conn is a *sql.DB or a *sql.Tx.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier is a sqlstore.Querier on database/sql.
type querier struct {
	e    *engine
	conn conn
	tx   *sql.Tx      // the transaction conn is, if it is one
	m    *memberState // the group member tx runs, if it is a write
}

func (e *engine) querier(c conn, tx *sql.Tx) *querier { return &querier{e: e, conn: c, tx: tx} }

// live is the context to run a statement under: ctx, or in a write
// transaction the member's (see memberState).
func (q *querier) live(ctx context.Context) (context.Context, error) {
	if q.m == nil {
		return ctx, nil
	}
	return q.m.live(ctx)
}

func (q *querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx, err := q.live(ctx)
	if err != nil {
		return 0, err
	}
	res, err := q.conn.ExecContext(ctx, q.e.rewrite(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, err := q.live(ctx)
	if err != nil {
		return nil, err
	}
	r, err := q.conn.QueryContext(ctx, q.e.rewrite(query), args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (q *querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx, err := q.live(ctx)
	if err != nil {
		return errRow{err}
	}
	return q.conn.QueryRowContext(ctx, q.e.rewrite(query), args...)
}

// errRow is a row that a statement not run because its member ended
// returns.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// rows is *sql.Rows as sqlstore.Rows, whose Close reports nothing: the
// error that matters comes from Err.
type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

// stmt returns st, prepared on the write connection, for use in tx, a
// transaction that WriteTx began. Its statements run under the member's
// context, whatever context they are given (see memberState).
func (e *engine) stmt(ctx context.Context, tx sqlstore.Querier, st *sql.Stmt) memberStmt {
	q := tx.(*querier)
	return memberStmt{st: q.tx.StmtContext(ctx, st), m: q.m}
}

// memberStmt is a prepared statement of a write transaction.
type memberStmt struct {
	st *sql.Stmt
	m  *memberState
}

func (s memberStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	ctx, err := s.m.live(ctx)
	if err != nil {
		return nil, err
	}
	return s.st.ExecContext(ctx, args...)
}

func (s memberStmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	ctx, err := s.m.live(ctx)
	if err != nil {
		return nil, err
	}
	return s.st.QueryContext(ctx, args...)
}

func (s memberStmt) QueryRowContext(ctx context.Context, args ...any) sqlstore.Row {
	ctx, err := s.m.live(ctx)
	if err != nil {
		return errRow{err}
	}
	return s.st.QueryRowContext(ctx, args...)
}

// rewrite returns query with SQLite's placeholders, rewriting each
// statement once. The store never puts values into its SQL, so there are
// few statements to remember.
func (e *engine) rewrite(query string) string {
	if !strings.Contains(query, "$") {
		return query
	}
	if r, ok := e.rewritten.Load(query); ok {
		return r.(string)
	}
	r := placeholders(query)
	e.rewritten.Store(query, r)
	return r
}

// placeholders rewrites PostgreSQL's $N to SQLite's ?N, which also names
// the argument by number, leaving string literals, quoted identifiers and
// comments alone.
func placeholders(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 { // unterminated: SQLite will say so
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '$' && i+1 < len(query) && '0' <= query[i+1] && query[i+1] <= '9':
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// The dialect.

func (*engine) Name() string { return "sqlite" }

// Time keeps a time as INTEGER unix microseconds, the precision the
// service truncates every time to.
func (*engine) Time(t time.Time) any { return t.UnixMicro() }

func (*engine) NullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func (*engine) ScanTime(t *time.Time) any      { return micros{t} }
func (*engine) ScanNullTime(t **time.Time) any { return nullMicros{t} }

// micros reads a time kept by Time, in UTC.
type micros struct{ t *time.Time }

func (m micros) Scan(src any) error {
	us, ok := src.(int64)
	if !ok {
		return fmt.Errorf("reading a time: got %T, want INTEGER unix microseconds", src)
	}
	*m.t = time.UnixMicro(us).UTC()
	return nil
}

// nullMicros reads a time kept by NullTime.
type nullMicros struct{ t **time.Time }

func (m nullMicros) Scan(src any) error {
	if src == nil {
		*m.t = nil
		return nil
	}
	var t time.Time
	if err := (micros{&t}).Scan(src); err != nil {
		return err
	}
	*m.t = &t
	return nil
}

// AnyOf expands a list bound as one JSON array with json_each, so that a
// statement has one text whatever the list's length.
func (*engine) AnyOf(expr, param string) string {
	return expr + " IN (SELECT value FROM json_each(" + param + "))"
}

func (*engine) Int64s(ids []int64) any { return int64List(ids) }

func (*engine) Strings(ids []string) any {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // []string always encodes
	return string(b)
}

// int64List renders ids as a JSON array for json_each; never null, so
// that NOT IN over an empty list excludes nothing.
func int64List(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// ForUpdate is empty: a write transaction holds the whole database.
func (*engine) ForUpdate() string { return "" }

// DeferForeignKeys lasts until the member of the group ends: the writer
// then checks that no violation is left and switches it off again (see
// pendingForeignKeys).
func (*engine) DeferForeignKeys(ctx context.Context, tx sqlstore.Querier) error {
	if q, ok := tx.(*querier); ok && q.m != nil {
		q.m.deferredFKs = true
	}
	_, err := tx.Exec(ctx, `PRAGMA defer_foreign_keys = ON`)
	return err
}

// IsUniqueViolation reports whether err is SQLite's UNIQUE constraint
// failure (SQLITE_CONSTRAINT_UNIQUE), told by its message so as not to
// depend on the driver's error type.
func (*engine) IsUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// DeliveriesDue wakes nobody: only one process delivers from a SQLite
// file, and the service wakes its own engine.
func (*engine) DeliveriesDue(context.Context, sqlstore.Querier) error { return nil }
