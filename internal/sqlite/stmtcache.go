package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	msqlite "modernc.org/sqlite"
)

// Prepared statements. database/sql hands a statement run without
// preparing (the querier's Exec, Query and QueryRow, a transaction's
// SAVEPOINT) to the driver as text, and the driver parses and plans it
// anew every time: a tenth of Hookshot's CPU at 1,000 deliveries a second.
// So each connection of the store keeps the statements it has run
// prepared, by their text, and runs them again from there. The store never
// puts values into its SQL, so there are few texts; the cache is bounded
// anyway (filters of lists combine into more), and past the bound a
// connection runs statements unprepared, as before.
//
// The cache sits under database/sql, in the driver connection, so that it
// serves transactions and the plain pools alike, with each connection's
// statements its own, and costs database/sql no bookkeeping: a statement
// runs under whatever context it is given, a write member's uncancellable
// one included (see memberState), exactly as the text would have.
//
// A schema changed after a statement was prepared (another process's
// migration, a trigger an operator adds) needs nothing from us: SQLite
// prepares a statement again by itself when it finds the schema changed
// under it (sqlite3_prepare_v2). The store's own migrations run before
// anything is cached (see caching), so their scripts take no room.
const stmtCacheSize = 256

// openDB opens a pool of connections to dsn that keep their statements
// prepared once caching is set.
func openDB(dsn string, caching *atomic.Bool) (*sql.DB, error) {
	c, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtConnector{Connector: c, caching: caching}), nil
}

// stmtConnector opens the driver's connections as stmtConns.
type stmtConnector struct {
	driver.Connector
	caching *atomic.Bool
}

func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, fmt.Errorf("sqlite: the driver's connection (%T) lacks an interface the store needs", dc)
	}
	return &stmtConn{sqliteConn: sc, caching: c.caching, stmts: make(map[string]*cachedStmt)}, nil
}

// sqliteConn is what the driver's connections implement and database/sql
// looks for; a stmtConn passes it all on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmtConn is a driver connection with a cache of prepared statements.
// database/sql uses a connection from one goroutine at a time (it holds
// the connection's lock around every call, Rows' included), so the cache
// needs no lock of its own.
type stmtConn struct {
	sqliteConn
	caching *atomic.Bool
	stmts   map[string]*cachedStmt
}

// cachedStmt is a statement prepared on its connection.
type cachedStmt struct {
	st interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	// open is set while rows of the statement are being read: SQLite
	// cannot run a statement again before it is reset, so a query that
	// comes meanwhile with the same text runs unprepared.
	open bool
}

// Unwrap is the driver's connection, for sql.Conn.Raw (see rawConn).
func (c *stmtConn) Unwrap() driver.Conn { return c.sqliteConn }

// rawConn returns the driver's connection that sql.Conn.Raw gave as dc.
func rawConn(dc any) any {
	if u, ok := dc.(interface{ Unwrap() driver.Conn }); ok {
		return u.Unwrap()
	}
	return dc
}

// stmt returns query's statement prepared on c, or nil when query is to
// run unprepared. A statement that does not prepare (a syntax error, a
// missing table, a cancelled context) is not cached: its error is the one
// running the text would have returned.
func (c *stmtConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if !c.caching.Load() {
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.open {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		return nil, nil
	}
	ds, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		ds.Close()
		return nil, nil
	}
	s := &cachedStmt{st: st}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.st.ExecContext(ctx, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	r, err := s.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.open = true
	return &cachedRows{Rows: r, s: s}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *stmtConn) Close() error {
	var errs []error
	for query, s := range c.stmts {
		errs = append(errs, s.st.Close())
		delete(c.stmts, query)
	}
	errs = append(errs, c.sqliteConn.Close())
	return errors.Join(errs...)
}

// cachedRows are the rows of a cached statement, which Close resets for
// the next run. They hide the driver's column type methods, which the
// store has no use for (sql.Rows.ColumnTypes would report less).
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.open = false
	return err
}
