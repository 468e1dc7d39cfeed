package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hookshot/hookshot/internal/sqlstore"
)

// cached returns the statements conn's driver connection keeps prepared,
// by their text.
func cached(t *testing.T, conn *sql.Conn) map[string]*cachedStmt {
	t.Helper()
	var stmts map[string]*cachedStmt
	if err := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stmtConn)
		if !ok {
			return fmt.Errorf("driver connection is a %T, not a *stmtConn", dc)
		}
		stmts = make(map[string]*cachedStmt, len(sc.stmts))
		for q, s := range sc.stmts {
			stmts[q] = s
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return stmts
}

// openCaching opens a pool of one caching connection on a new file, and
// returns it, its connection and the file.
func openCaching(t *testing.T, caching bool) (*sql.DB, *sql.Conn, string) {
	t.Helper()
	var on atomic.Bool
	on.Store(caching)
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := openDB(path+"?_busy_timeout=10000", &on)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing: %v", err)
		}
	})
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return db, conn, path
}

func queryInt(t *testing.T, conn *sql.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Past stmtCacheSize distinct texts a connection caches no more, and every
// statement, cached or not, still answers right.
func TestStmtCacheBounded(t *testing.T) {
	_, conn, _ := openCaching(t, true)
	const texts = stmtCacheSize + 100
	for round := 0; round < 2; round++ {
		for i := 0; i < texts; i++ {
			if got := queryInt(t, conn, fmt.Sprintf("SELECT %d + ?1", i), round); got != i+round {
				t.Fatalf("round %d, statement %d answered %d, want %d", round, i, got, i+round)
			}
		}
	}
	stmts := cached(t, conn)
	if len(stmts) != stmtCacheSize {
		t.Fatalf("%d statements cached, want the bound, %d", len(stmts), stmtCacheSize)
	}
	if _, ok := stmts["SELECT 0 + ?1"]; !ok {
		t.Error("the first statement run is not cached")
	}
	if _, ok := stmts[fmt.Sprintf("SELECT %d + ?1", texts-1)]; ok {
		t.Error("a statement past the bound is cached")
	}
}

// A cached statement is the one prepared the first time, and its Exec and
// Query both run it again.
func TestStmtCacheReuses(t *testing.T) {
	_, conn, _ := openCaching(t, true)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (n INTEGER) STRICT`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (n) VALUES (?1)`
	for i := 1; i <= 3; i++ {
		if _, err := conn.ExecContext(ctx, insert, i); err != nil {
			t.Fatal(err)
		}
	}
	first := cached(t, conn)[insert]
	if first == nil {
		t.Fatal("the insert is not cached")
	}
	res, err := conn.ExecContext(ctx, insert, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("RowsAffected = %d, %v; want 1", n, err)
	}
	if again := cached(t, conn)[insert]; again != first {
		t.Error("the insert was prepared again")
	}
	const sum = `SELECT sum(n) FROM t WHERE n > ?1`
	for _, c := range []struct{ above, want int }{{0, 10}, {2, 7}, {3, 4}} {
		if got := queryInt(t, conn, sum, c.above); got != c.want {
			t.Errorf("sum above %d = %d, want %d", c.above, got, c.want)
		}
	}
}

// A statement whose text does not prepare fails as it does uncached, and
// takes no room.
func TestStmtCacheFailedPrepare(t *testing.T) {
	_, conn, _ := openCaching(t, true)
	_, plain, _ := openCaching(t, false)
	ctx := context.Background()
	for _, query := range []string{`SELEKT 1`, `SELECT * FROM no_such_table`} {
		_, want := plain.ExecContext(ctx, query)
		if want == nil {
			t.Fatalf("%s ran uncached", query)
		}
		for i := 0; i < 2; i++ {
			if _, err := conn.ExecContext(ctx, query); err == nil || err.Error() != want.Error() {
				t.Errorf("Exec(%s) = %v, want %v", query, err, want)
			}
			if _, err := conn.QueryContext(ctx, query); err == nil || err.Error() != want.Error() {
				t.Errorf("Query(%s) = %v, want %v", query, err, want)
			}
		}
	}
	if stmts := cached(t, conn); len(stmts) != 0 {
		t.Errorf("cached after failures: %v", stmts)
	}
	// The table's creation makes the text good, and it is cached then.
	if _, err := conn.ExecContext(ctx, `CREATE TABLE no_such_table (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, conn, `SELECT count(*) FROM no_such_table`); got != 0 {
		t.Errorf("count = %d", got)
	}
}

// A query run again on the connection while rows of the same text are
// still being read (as a transaction may) runs beside them, unprepared,
// and both read what they should.
func TestStmtCacheNestedSameText(t *testing.T) {
	_, conn, _ := openCaching(t, true)
	ctx := context.Background()
	const query = `SELECT value FROM json_each(?1) ORDER BY value`
	read := func(rows *sql.Rows, inner func(v int)) []int {
		t.Helper()
		defer rows.Close()
		var got []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
			inner(v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	outer, err := conn.QueryContext(ctx, query, "[1,2,3]")
	if err != nil {
		t.Fatal(err)
	}
	got := read(outer, func(v int) {
		inner, err := conn.QueryContext(ctx, query, fmt.Sprintf("[%d,%d]", 10*v, 10*v+1))
		if err != nil {
			t.Fatal(err)
		}
		if got := read(inner, func(int) {}); fmt.Sprint(got) != fmt.Sprint([]int{10 * v, 10*v + 1}) {
			t.Errorf("inner query read %v", got)
		}
	})
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("outer query read %v, want [1 2 3]", got)
	}
	// Closed, the cached statement serves again.
	rows, err := conn.QueryContext(ctx, query, "[7]")
	if err != nil {
		t.Fatal(err)
	}
	if got := read(rows, func(int) {}); fmt.Sprint(got) != "[7]" {
		t.Errorf("read %v after the nested queries", got)
	}
	if cached(t, conn)[query] == nil {
		t.Error("the query is not cached")
	}
}

// A schema changed by another connection after a statement was cached is
// what the statement then reads: SQLite prepares it again by itself.
func TestStmtCacheSchemaChange(t *testing.T) {
	_, conn, path := openCaching(t, true)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	const query = `SELECT * FROM t`
	columns := func() []string {
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return cols
	}
	if cols := columns(); len(cols) != 1 {
		t.Fatalf("columns %v", cols)
	}
	other, err := sql.Open("sqlite", path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`ALTER TABLE t ADD COLUMN b INTEGER`); err != nil {
		t.Fatal(err)
	}
	if cols := columns(); len(cols) != 2 {
		t.Errorf("after ALTER TABLE by another connection: columns %v, want a and b", cols)
	}
}

// The store caches nothing of its migrations, and a write transaction
// prepares its statements and the group's savepoint once.
func TestStoreStatementsPreparedOnce(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	writeConn := func() map[string]*cachedStmt {
		// Between groups the writer leaves the connection in the pool.
		conn, err := s.e.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return cached(t, conn)
	}
	if stmts := writeConn(); len(stmts) != 0 {
		t.Fatalf("cached right after Open, migrations included: %v", keys(stmts))
	}
	write := func(n int) {
		if err := s.e.WriteTx(ctx, func(tx sqlstore.Querier) error {
			_, err := tx.Exec(ctx, `UPDATE schema_migrations SET applied_at = applied_at WHERE applied_at < $1`, n)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	first := writeConn()
	if q := `UPDATE schema_migrations SET applied_at = applied_at WHERE applied_at < ?1`; first[q] == nil {
		t.Errorf("%q is not cached; cached: %v", q, keys(first))
	}
	if first[`SAVEPOINT member`] != nil {
		t.Errorf("a lone write ran in a savepoint; cached: %v", keys(first))
	}
	write(2)
	for q, st := range writeConn() {
		if first[q] != st {
			t.Errorf("%q was prepared again", q)
		}
	}
	var n int
	if err := s.e.reader.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version > $1`, "").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(Migrations()) {
		t.Errorf("read %d migrations, want %d", n, len(Migrations()))
	}
}

func keys(m map[string]*cachedStmt) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
