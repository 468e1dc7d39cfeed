package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hookshot/hookshot/internal/sqlite"
)

// A second Lock of the same database is refused, naming the holder and
// PostgreSQL, until the first is released. (flock locks belong to open
// files, so one process can stand in for two.)
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookshot.db")
	first, err := sqlite.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Lock(path)
	if !errors.Is(err, sqlite.ErrHeld) {
		t.Fatalf("second Lock: err = %v, want ErrHeld", err)
	}
	for _, want := range []string{"another Hookshot holds", "process " + strconv.Itoa(os.Getpid()), "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("second Lock: %q does not say %q", err, want)
		}
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	again, err := sqlite.Lock(path)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	again.Release()
}
