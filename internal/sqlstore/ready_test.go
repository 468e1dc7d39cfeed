package sqlstore_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/hookshot/hookshot/internal/sqlite"
)

// /readyz may be asked often (by every load balancer and orchestrator):
// answers within a second of a probe reuse it, concurrent ones included,
// so the database sees at most about one probe a second.
func TestReadyReusesItsAnswer(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hookshot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := s.Ready(t.Context()); err != nil {
				t.Errorf("Ready: %v", err)
			}
		})
	}
	wg.Wait()
	if n := s.Probes(); n != 1 {
		t.Fatalf("%d probes for 50 calls at once, want 1", n)
	}
}
