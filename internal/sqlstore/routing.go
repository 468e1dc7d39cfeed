package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/hookshot/hookshot"
)

// The routing cache: every publish needs its study's webhooks, which
// change seldom, so the Store keeps each study's list with the study's
// routing version (the routing_versions table, which triggers on webhooks
// bump in the transaction of every change that matters; see migration
// 0011). A publish reads that one row and reuses the list when the
// version is the one it was cached at. The version is read before the
// webhooks on a miss, so a list is never cached under a version newer
// than itself: a change committed in between costs one more read, never a
// stale route. Any process sharing the database bumps the same row, so
// what holds for this process holds for the others.

// The cache's bounds: no study has a limit on its webhooks, so the
// webhooks held are counted too, and a study with more than all of them
// is read every time, as without a cache.
const (
	maxRoutedStudies  = 1024
	maxRoutedWebhooks = 20000
)

// routes is the routing cache, safe for concurrent use.
type routes struct {
	mu       sync.Mutex
	byStudy  map[int64]routing
	webhooks int // in byStudy
}

// routing is one study's webhooks as they stood at its version.
type routing struct {
	version  int64
	webhooks []*hookshot.Webhook
}

// get returns the study's webhooks cached at version.
func (r *routes) get(studyID, version int64) ([]*hookshot.Webhook, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.byStudy[studyID]
	if !ok || c.version != version {
		return nil, false
	}
	return c.webhooks, true
}

// put caches webhooks at version, unless a newer version is cached
// (another publish read later), making room by dropping other studies.
func (r *routes) put(studyID, version int64, webhooks []*hookshot.Webhook) {
	if len(webhooks) > maxRoutedWebhooks {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byStudy == nil {
		r.byStudy = make(map[int64]routing)
	}
	if old, ok := r.byStudy[studyID]; ok {
		if old.version > version {
			return
		}
		r.webhooks -= len(old.webhooks)
		delete(r.byStudy, studyID)
	}
	// Any study will do (map order): a study published to again is read
	// back at the cost of one read, the cost of every publish without the
	// cache.
	for other, c := range r.byStudy {
		if len(r.byStudy) < maxRoutedStudies && r.webhooks+len(webhooks) <= maxRoutedWebhooks {
			break
		}
		r.webhooks -= len(c.webhooks)
		delete(r.byStudy, other)
	}
	r.byStudy[studyID] = routing{version: version, webhooks: webhooks}
	r.webhooks += len(webhooks)
}

// RoutingWebhooks returns a study's webhooks, oldest first, as Webhooks
// would return them when the call starts, but for Health, which is left
// zero, and UpdatedAt and Validation.CheckedAt, which change no version
// on their own. The list and the webhooks are shared with other callers and must
// not be modified. It usually reads one row: the webhooks come from the
// cache while the study's routing version is the one they were read at.
func (s *Store) RoutingWebhooks(ctx context.Context, studyID int64) ([]*hookshot.Webhook, error) {
	version, err := s.RoutingVersion(ctx, studyID)
	if err != nil {
		return nil, err
	}
	if list, ok := s.routes.get(studyID, version); ok {
		return list, nil
	}
	rows, err := s.e.Reader().Query(ctx,
		`SELECT `+webhookColumns+` FROM webhooks WHERE study_id = $1 ORDER BY created_at, id`, studyID)
	list, err := collect(rows, err, func(r Rows) (*hookshot.Webhook, error) {
		w, err := s.scanWebhook(r)
		if err == nil {
			w.Health = hookshot.Health{} // recording moves it on without a new version
		}
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: listing webhooks of study %d for routing: %w", s.name, studyID, err)
	}
	// A full slice, so that a caller's append cannot write into the
	// cached one.
	list = list[:len(list):len(list)]
	s.routes.put(studyID, version, list)
	return list, nil
}

// RoutingVersion returns a study's routing version: 0 until its first
// webhook, and greater after every committed change of its webhooks that
// RoutingWebhooks shows, in this process or another. Exported for the
// conformance suite, which checks what bumps it and what does not.
func (s *Store) RoutingVersion(ctx context.Context, studyID int64) (int64, error) {
	var version int64
	err := s.e.Reader().QueryRow(ctx, `SELECT version FROM routing_versions WHERE study_id = $1`, studyID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: reading the routing version of study %d: %w", s.name, studyID, err)
	}
	return version, nil
}
