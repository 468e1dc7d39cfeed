package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/sqlstore"
)

// openGroupTest opens a store on a real file with a table of its own,
// parents and children for foreign keys.
func openGroupTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookshot.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	exec(t, s, `CREATE TABLE parents (id TEXT PRIMARY KEY) STRICT;
		CREATE TABLE children (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parents) STRICT`)
	return s, path
}

func exec(t *testing.T, s *Store, query string) {
	t.Helper()
	if err := s.e.WriteTx(context.Background(), func(tx sqlstore.Querier) error {
		_, err := tx.Exec(context.Background(), query)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// insert is a member that stores parent id.
func insert(id string) func(tx sqlstore.Querier) error {
	return func(tx sqlstore.Querier) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO parents (id) VALUES ($1)`, id)
		return err
	}
}

// stored reads the parents and children from the file, through a
// connection of its own after the store closed: what is durable.
func stored(t *testing.T, s *Store, path string) []string {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM parents UNION ALL SELECT 'child ' || id FROM children ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// holdWriter runs a member that keeps the writer until release is called,
// so that the writes started meanwhile wait, and then join its group;
// then it runs work. It returns once the member runs; wait returns the
// member's outcome.
func holdWriter(t *testing.T, s *Store, work func(tx sqlstore.Querier) error) (release func(), wait func() error) {
	t.Helper()
	running, released, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.e.WriteTx(context.Background(), func(tx sqlstore.Querier) error {
			close(running)
			<-released
			return work(tx)
		})
	}()
	<-running
	return sync.OnceFunc(func() { close(released) }), func() error { return <-done }
}

func nothing(sqlstore.Querier) error { return nil }

// group runs members concurrently while the writer is held, so that they
// join one group with the holder, which writes nothing, and returns their
// outcomes in order.
func group(t *testing.T, s *Store, members ...func(tx sqlstore.Querier) error) []error {
	t.Helper()
	errs, commits := groupHeld(t, s, nothing, members...)
	if commits >= len(members)+1 {
		t.Errorf("%d members took %d commits: no group formed", len(members)+1, commits)
	}
	return errs
}

// groupHeld is group with the holder running work, and returns the
// number of COMMITs too.
func groupHeld(t *testing.T, s *Store, work func(tx sqlstore.Querier) error, members ...func(tx sqlstore.Querier) error) ([]error, int) {
	t.Helper()
	release, wait := holdWriter(t, s, work)
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, fn := range members {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = callerPanic{v}
				}
			}()
			errs[i] = s.e.WriteTx(context.Background(), fn)
		})
	}
	waitQueued(t, len(members))
	commits := s.e.writer.commits.Load()
	release()
	wait() //nolint:errcheck // the holder shares its group's fate, which the members report
	wg.Wait()
	return errs, int(s.e.writer.commits.Load() - commits)
}

// waitQueued returns once n callers wait for the writer: goroutines blocked
// in the select of writer.do, as their stacks show.
func waitQueued(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<22)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		queued := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, " [select") && strings.Contains(g, "sqlite.(*writer).do(") {
				queued++
			}
		}
		if queued >= n {
			return
		}
	}
	t.Fatalf("fewer than %d callers wait for the writer", n)
}

// callerPanic is a panic of WriteTx, as group reports it.
type callerPanic struct{ value any }

func (p callerPanic) Error() string { return fmt.Sprintf("WriteTx panicked: %v", p.value) }

// groupSizes is the sum of hookshot_sqlite_commit_group_size: the members
// of every commit so far.
func groupSizes(t *testing.T, s *Store) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.Metrics()[0].(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleSum()
}

// Concurrent writes share commits, and every write told nil is in the
// file after it closes.
func TestGroupCommitDurable(t *testing.T) {
	s, path := openGroupTest(t)
	const writers, each = 32, 20
	commits, members := s.e.writer.commits.Load(), groupSizes(t, s)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want []string
	)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%02d-%02d", w, i)
				if err := s.e.WriteTx(context.Background(), insert(id)); err != nil {
					t.Errorf("%s: %v", id, err)
					continue
				}
				mu.Lock()
				want = append(want, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n := s.e.writer.commits.Load() - commits
	t.Logf("%d writes in %d commits", writers*each, n)
	if n >= writers*each {
		t.Errorf("%d writes took %d commits: none shared one", writers*each, n)
	}
	if got := groupSizes(t, s) - members; got != writers*each {
		t.Errorf("hookshot_sqlite_commit_group_size counts %v members, want %d", got, writers*each)
	}
	slices.Sort(want)
	if got := stored(t, s, path); !slices.Equal(got, want) {
		t.Errorf("stored %d rows, want the %d written", len(got), len(want))
	}
}

// A group takes at most groupMembers members, and after a member that
// ran for groupTime, no more: the others form the next group.
func TestGroupBounds(t *testing.T) {
	s, path := openGroupTest(t)
	var members []func(tx sqlstore.Querier) error
	var want []string
	for i := range groupMembers + 10 {
		id := fmt.Sprintf("m%03d", i)
		members = append(members, insert(id))
		want = append(want, id)
	}
	errs, commits := groupHeld(t, s, nothing, members...)
	if commits < 2 { // more when groupTime ends a group first
		t.Errorf("%d members took %d commits, want groups of at most %d", len(members)+1, commits, groupMembers)
	}
	errs2, commits := groupHeld(t, s, func(sqlstore.Querier) error {
		time.Sleep(groupTime + 5*time.Millisecond)
		return nil
	}, insert("after long"))
	if commits != 2 {
		t.Errorf("a member after a long one: %d commits, want it in a group of its own", commits)
	}
	for i, err := range append(errs, errs2...) {
		if err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
	want = append(want, "after long")
	slices.Sort(want)
	if got := stored(t, s, path); !slices.Equal(got, want) {
		t.Errorf("stored %d rows, want %d", len(got), len(want))
	}
}

// A member that fails leaves nothing, whatever it wrote before failing;
// its group-mates commit.
func TestGroupFailingMember(t *testing.T) {
	s, path := openGroupTest(t)
	errOwn := errors.New("the member's own error")
	errs := group(t, s,
		insert("a"),
		func(tx sqlstore.Querier) error {
			if err := insert("b")(tx); err != nil {
				return err
			}
			return errOwn
		},
		insert("c"),
		func(tx sqlstore.Querier) error {
			if err := insert("d")(tx); err != nil {
				return err
			}
			return insert("d")(tx) // a UNIQUE violation, which SQLite undoes by itself only for the statement
		},
		insert("e"),
	)
	if !errors.Is(errs[1], errOwn) {
		t.Errorf("failing member: %v, want its own error", errs[1])
	}
	if errs[3] == nil || !strings.Contains(errs[3].Error(), "UNIQUE") {
		t.Errorf("member violating a unique key: %v, want its UNIQUE error", errs[3])
	}
	for _, i := range []int{0, 2, 4} {
		if errs[i] != nil {
			t.Errorf("member %d: %v", i, errs[i])
		}
	}
	if got, want := stored(t, s, path), []string{"a", "c", "e"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A member with nothing before it in its transaction runs without a
// savepoint; when it fails, its work is undone with the transaction, and
// the callers waiting behind it write in a group of their own.
func TestGroupFailingLoneMember(t *testing.T) {
	s, path := openGroupTest(t)
	ctx := context.Background()
	errOwn := errors.New("the member's own error")
	failAfter := func(id string) func(tx sqlstore.Querier) error {
		return func(tx sqlstore.Querier) error {
			if err := insert(id)(tx); err != nil {
				return err
			}
			return errOwn
		}
	}
	if err := s.e.WriteTx(ctx, failAfter("a")); !errors.Is(err, errOwn) {
		t.Errorf("lone failing member: %v, want its own error", err)
	}
	err := s.e.WriteTx(ctx, func(tx sqlstore.Querier) error {
		if err := insert("b")(tx); err != nil {
			return err
		}
		return insert("b")(tx) // SQLite undoes only this statement by itself
	})
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Errorf("lone member violating a unique key: %v, want its UNIQUE error", err)
	}
	errs, _ := groupHeld(t, s, failAfter("c"), insert("d"), insert("e"))
	for i, err := range errs {
		if err != nil {
			t.Errorf("member %d behind a failed one: %v", i, err)
		}
	}
	if err := s.e.WriteTx(ctx, insert("f")); err != nil {
		t.Errorf("a write after them: %v", err)
	}
	if got, want := stored(t, s, path), []string{"d", "e", "f"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A caller whose context ends while it waits for the writer leaves with
// the context's error and runs nothing, not even later.
func TestGroupCancelledWaiter(t *testing.T) {
	s, path := openGroupTest(t)
	release, wait := holdWriter(t, s, insert("holder"))
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	left := make(chan error, 1)
	go func() {
		left <- s.e.WriteTx(ctx, func(tx sqlstore.Querier) error {
			ran <- struct{}{}
			return insert("cancelled")(tx)
		})
	}()
	waitQueued(t, 1)
	cancel()
	select {
	case err := <-left:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled caller still waits for the writer")
	}
	release()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := s.e.WriteTx(context.Background(), insert("after")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the cancelled caller's fn ran")
	default:
	}
	if got, want := stored(t, s, path), []string{"after", "holder"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A caller whose context ends while its fn runs fails at its next
// statement, without the interrupt that would roll back the group-mates'
// work with its own: SQLite rolls back the whole transaction when an
// INSERT in it is interrupted. The context ends in the middle of a long
// statement.
func TestGroupCancelledMember(t *testing.T) {
	s, path := openGroupTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	errs := group(t, s,
		insert("a"),
		func(tx sqlstore.Querier) error {
			if err := insert("b")(tx); err != nil {
				return err
			}
			time.AfterFunc(5*time.Millisecond, cancel)
			if _, err := tx.Exec(ctx, `
				WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
				INSERT INTO parents (id) SELECT 'long ' || i FROM n`); err != nil {
				return err
			}
			<-ctx.Done() // in case the statement was quicker
			_, err := tx.Exec(ctx, `INSERT INTO parents (id) VALUES ('c')`)
			return err
		},
		insert("d"),
	)
	if !errors.Is(errs[1], context.Canceled) {
		t.Errorf("cancelled member: %v, want context.Canceled", errs[1])
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("group-mates: %v, %v", errs[0], errs[2])
	}
	if got, want := stored(t, s, path), []string{"a", "d"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// When the COMMIT fails, every member gets its error and nothing of the
// group is stored. The failure is real: a member defers foreign keys
// behind the engine's back, so that no one checks them before COMMIT.
func TestGroupCommitFailure(t *testing.T) {
	s, path := openGroupTest(t)
	errs := group(t, s,
		insert("a"),
		func(tx sqlstore.Querier) error {
			if _, err := tx.Exec(context.Background(), `PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			_, err := tx.Exec(context.Background(), `INSERT INTO children (id, parent) VALUES ('x', 'missing')`)
			return err
		},
		insert("c"),
	)
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "committing") || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Errorf("member %d: %v, want the failed COMMIT's error", i, err)
		}
	}
	if got := stored(t, s, path); len(got) != 0 {
		t.Errorf("stored %v, want nothing of the failed group", got)
	}
}

// A member that defers foreign keys (as publish's idempotency key claim
// does) and ends with one failing gets the error its own COMMIT would have
// given; its group-mates commit, and those after it have their foreign
// keys checked at each statement again.
func TestGroupDeferredForeignKeys(t *testing.T) {
	s, path := openGroupTest(t)
	ctx := context.Background()
	child := func(id, parent string) func(tx sqlstore.Querier) error {
		return func(tx sqlstore.Querier) error {
			_, err := tx.Exec(ctx, `INSERT INTO children (id, parent) VALUES ($1, $2)`, id, parent)
			return err
		}
	}
	deferred := func(fns ...func(tx sqlstore.Querier) error) func(tx sqlstore.Querier) error {
		return func(tx sqlstore.Querier) error {
			if err := s.e.DeferForeignKeys(ctx, tx); err != nil {
				return err
			}
			for _, fn := range fns {
				if err := fn(tx); err != nil {
					return err
				}
			}
			return nil
		}
	}
	errs := group(t, s,
		insert("a"),
		deferred(child("orphan", "missing")),          // left failing
		deferred(child("kept", "p"), insert("p")),     // the parent comes after the child, as for a key
		child("immediate", "missing"),                 // no longer deferred
		deferred(child("late", "q"), insert("other")), // left failing too
		insert("b"),
	)
	for _, i := range []int{1, 4} {
		if !errors.Is(errs[i], errForeignKeys) {
			t.Errorf("member %d leaving a deferred violation: %v, want errForeignKeys", i, errs[i])
		}
	}
	if errs[3] == nil || !strings.Contains(errs[3].Error(), "FOREIGN KEY") || errors.Is(errs[3], errForeignKeys) {
		t.Errorf("member violating a foreign key without deferring: %v, want the statement's error", errs[3])
	}
	for _, i := range []int{0, 2, 5} {
		if errs[i] != nil {
			t.Errorf("member %d: %v", i, errs[i])
		}
	}
	if got, want := stored(t, s, path), []string{"a", "b", "child kept", "p"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A member that panics is rolled back, its caller panics, its group-mates
// commit and the writer goes on.
func TestGroupPanic(t *testing.T) {
	s, path := openGroupTest(t)
	errs := group(t, s,
		insert("a"),
		func(tx sqlstore.Querier) error {
			if err := insert("b")(tx); err != nil {
				return err
			}
			rows, err := tx.Query(context.Background(), `SELECT id FROM parents`)
			if err != nil {
				return err
			}
			rows.Next() // left open by the panic
			panic("the member's panic")
		},
		insert("c"),
	)
	var p callerPanic
	if !errors.As(errs[1], &p) || !strings.Contains(fmt.Sprint(p.value), "the member's panic") {
		t.Errorf("panicking member's caller: %v, want a panic with the member's", errs[1])
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("group-mates: %v, %v", errs[0], errs[2])
	}
	if err := s.e.WriteTx(context.Background(), insert("after")); err != nil {
		t.Errorf("a write after the panic: %v", err)
	}
	if got, want := stored(t, s, path), []string{"a", "after", "c"}; !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// A statement that fails for a full disk (SQLITE_FULL, for real: the
// write connection may not grow the file past its size) can make SQLite
// roll back the whole transaction, the group-mates' work with it. Whatever
// SQLite does, a member told nil is stored and a member told an error is
// not, and the full disk is classified as the store being unavailable.
func TestGroupFullDisk(t *testing.T) {
	s, path := openGroupTest(t)
	exec(t, s, `PRAGMA max_page_count = 1`) // SQLite keeps the larger of this and the file's size
	big := func(tx sqlstore.Querier) error {
		_, err := tx.Exec(context.Background(), `
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			INSERT INTO parents (id) SELECT 'big ' || i FROM n`)
		return err
	}
	bigRow := func(tx sqlstore.Querier) error { // one row: no statement journal to undo only the statement
		_, err := tx.Exec(context.Background(), `INSERT INTO parents (id) VALUES ('big row ' || hex(zeroblob(400000)))`)
		return err
	}
	errs := group(t, s, insert("a"), big, insert("c"), bigRow, insert("e"))
	if !Unavailable(errs[1]) || !Unavailable(errs[3]) {
		t.Errorf("members filling the disk: %v, %v; want SQLITE_FULL", errs[1], errs[3])
	}
	got := stored(t, s, path)
	for i, id := range []string{"a", "big", "c", "big", "e"} {
		if i%2 == 1 {
			continue
		}
		if kept := slices.Contains(got, id); kept != (errs[i] == nil) {
			t.Errorf("member %s: stored %v, error %v", id, kept, errs[i])
		} else if errs[i] != nil && !Unavailable(errs[i]) {
			t.Errorf("member %s lost with its group: %v, want the full disk's error", id, errs[i])
		}
	}
	if slices.ContainsFunc(got, func(id string) bool { return strings.HasPrefix(id, "big") }) {
		t.Errorf("stored part of a failed member")
	}
	t.Logf("outcomes: %v", errs)
}

// An unhurried write waits, its work done, up to companyWait for another
// to share its commit: alone it commits once the wait is over; a write
// that comes meanwhile joins it in one commit; a closing store commits
// it at once.
func TestGroupUnhurried(t *testing.T) {
	s, path := openGroupTest(t)
	unhurried := hookshot.Unhurried(context.Background())

	commits := s.e.writer.commits.Load()
	began := time.Now()
	if err := s.e.WriteTx(unhurried, insert("alone")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < companyWait {
		t.Errorf("an unhurried write alone committed after %s, want it to wait %s for company", took, companyWait)
	}
	if n := s.e.writer.commits.Load() - commits; n != 1 {
		t.Errorf("an unhurried write alone: %d commits, want 1", n)
	}

	commits = s.e.writer.commits.Load()
	ran := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.e.WriteTx(unhurried, func(tx sqlstore.Querier) error {
			defer close(ran)
			return insert("waiting")(tx)
		})
	}()
	<-ran
	if err := s.e.WriteTx(context.Background(), insert("company")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := s.e.writer.commits.Load() - commits; n != 1 {
		t.Errorf("an unhurried write and one that came while it waited: %d commits, want 1", n)
	}

	ran = make(chan struct{})
	go func() {
		done <- s.e.WriteTx(unhurried, func(tx sqlstore.Querier) error {
			defer close(ran)
			return insert("closing")(tx)
		})
	}()
	<-ran
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("an unhurried write waiting as the store closed: %v", err)
	}
	if got, want := stored(t, s, path), []string{"alone", "closing", "company", "waiting"}; !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}
