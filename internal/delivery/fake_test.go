package delivery

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// fakeQueue is an in-memory Queue. Due deliveries wait in order; a claim
// leases them to the claimer; a recorded result puts a delivery still in
// progress back in line and drops a finished one; a release puts it back
// as it was. Every call is kept and announced, so tests wait on what the
// engine did, never on a sleep.
type fakeQueue struct {
	mu       sync.Mutex
	waiting  []*hookshot.Job
	leased   map[string]*hookshot.Job
	finished map[string]*hookshot.Result
	claims   []hookshot.Claim
	// recordCalls counts calls to RecordResults, failed ones included;
	// batches holds the ones that succeeded.
	recordCalls int
	batches     [][]*hookshot.Result
	released    []string
	changed     chan struct{} // closed and replaced on every change

	// The hooks, when set, run before the call does its work (outside the
	// lock, so they may block); an error they return fails the call.
	onClaim   func(ctx context.Context) error
	onRecord  func(ctx context.Context, call int, results []*hookshot.Result) error
	onRelease func(ctx context.Context) error
}

func newFakeQueue() *fakeQueue {
	return &fakeQueue{
		leased:   make(map[string]*hookshot.Job),
		finished: make(map[string]*hookshot.Result),
		changed:  make(chan struct{}),
	}
}

// announceLocked wakes every wait; q.mu must be held.
func (q *fakeQueue) announceLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *fakeQueue) add(jobs ...*hookshot.Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, jobs...)
	q.announceLocked()
}

func (q *fakeQueue) ClaimDeliveries(ctx context.Context, c hookshot.Claim) ([]*hookshot.Job, error) {
	if q.onClaim != nil {
		if err := q.onClaim(ctx); err != nil {
			return nil, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	c.SkipWebhooks = slices.Clone(c.SkipWebhooks)
	q.claims = append(q.claims, c)
	var claimed []*hookshot.Job
	rest := q.waiting[:0:0]
	for _, j := range q.waiting {
		d := j.Delivery
		if len(claimed) < c.Limit && !d.NextAttemptAt.After(c.Now) && !slices.Contains(c.SkipWebhooks, d.WebhookID) {
			claimed = append(claimed, j)
			q.leased[d.ID] = j
			continue
		}
		rest = append(rest, j)
	}
	q.waiting = rest
	q.announceLocked()
	return claimed, nil
}

func (q *fakeQueue) RecordResults(ctx context.Context, owner string, results []*hookshot.Result) error {
	q.mu.Lock()
	q.recordCalls++
	call := q.recordCalls
	q.announceLocked()
	q.mu.Unlock()
	if q.onRecord != nil {
		if err := q.onRecord(ctx, call, results); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches = append(q.batches, slices.Clone(results))
	for _, r := range results {
		id := r.Attempt.DeliveryID
		j := q.leased[id]
		delete(q.leased, id)
		if j == nil {
			continue
		}
		if r.Status != hookshot.DeliveryInProgress {
			q.finished[id] = r
			continue
		}
		d := *j.Delivery
		d.Attempts = r.Attempt.Number
		d.MaxAttempts = r.MaxAttempts
		d.NextAttemptAt = r.NextAttemptAt
		q.waiting = append(q.waiting, &hookshot.Job{Delivery: &d, Webhook: j.Webhook, Payload: j.Payload})
	}
	q.announceLocked()
	return nil
}

func (q *fakeQueue) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	if q.onRelease != nil {
		if err := q.onRelease(ctx); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		if j := q.leased[id]; j != nil {
			delete(q.leased, id)
			q.waiting = append(q.waiting, j)
		}
	}
	q.released = append(q.released, ids...)
	q.announceLocked()
	return nil
}

// waitUntil waits for cond, checked under the queue's lock after every
// change, and fails the test when it does not hold within 10s.
func (q *fakeQueue) waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		q.mu.Lock()
		ok, changed := cond(), q.changed
		q.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
	}
}

// waitFinished waits until every id has a final result.
func (q *fakeQueue) waitFinished(t testing.TB, ids ...string) {
	t.Helper()
	q.waitUntil(t, "every delivery to finish", func() bool {
		for _, id := range ids {
			if q.finished[id] == nil {
				return false
			}
		}
		return true
	})
}

// locked runs f under the queue's lock, for reading what it kept.
func (q *fakeQueue) locked(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f()
}

// noCredentials opens nothing: the tests' webhooks authenticate with none.
type noCredentials struct{}

func (noCredentials) Open([]byte) (hookshot.Credentials, error) { return hookshot.Credentials{}, nil }

// loopbackClient may reach the tests' receivers on 127.0.0.1, which the
// address guard refuses by default.
func loopbackClient() *http.Client {
	return NewClient(ClientOptions{EgressAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
}

// testConfig is an engine configuration for the tests: real HTTP to the
// loopback address, no credentials, and no poll unless a test wants one.
func testConfig() Config {
	return Config{
		Owner:        "test",
		Schedule:     []time.Duration{10 * time.Second, time.Minute},
		Timeout:      5 * time.Second,
		PollInterval: time.Hour,
		Client:       loopbackClient(),
		Credentials:  noCredentials{},
	}
}

// receiver is a real HTTP server that tells of each request it gets on
// arrived and answers it as handle says (200 when handle is nil).
type receiver struct {
	*httptest.Server
	arrived chan *http.Request
}

func newReceiver(t testing.TB, handle http.HandlerFunc) *receiver {
	t.Helper()
	rc := &receiver{arrived: make(chan *http.Request, 1024)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read to the end, so the server watches the connection and ends
		// r's context when the attempt gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		rc.arrived <- r
		if handle != nil {
			handle(w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// waitArrivals waits for n more requests and returns their delivery IDs.
func (rc *receiver) waitArrivals(t testing.TB, n int) []string {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	var ids []string
	for len(ids) < n {
		select {
		case r := <-rc.arrived:
			ids = append(ids, r.Header.Get(DefaultWire.HeaderPrefix+"Delivery"))
		case <-timeout.C:
			t.Fatalf("timed out after 10s with %d of %d requests", len(ids), n)
		}
	}
	return ids
}

// hang is a receiver's handler that answers only when the attempt gives up
// or release is closed.
func hang(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// newJob is a due upload delivery to webhook on url with five attempts.
func newJob(id string, webhook int64, url string) *hookshot.Job {
	return &hookshot.Job{
		Delivery: &hookshot.Delivery{ID: id, WebhookID: webhook, Event: hookshot.EventUpload, MaxAttempts: 5},
		Webhook:  &hookshot.Webhook{ID: webhook, URL: url, Auth: hookshot.Auth{Type: hookshot.AuthNone}},
		Payload:  []byte(`{"id":"` + id + `"}`),
	}
}

// startEngine starts an engine on q and stops it when the test ends.
func startEngine(t testing.TB, q *fakeQueue, cfg Config) *Engine {
	t.Helper()
	e := New(q, cfg)
	e.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return e
}

// stopTimed calls Stop with a context of the given deadline and returns
// how long it took and what it said; it fails the test when Stop has not
// returned after 10s.
func stopTimed(t testing.TB, e *Engine, deadline time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	started := time.Now()
	done := make(chan error, 1)
	go func() { done <- e.Stop(ctx) }()
	select {
	case err := <-done:
		return time.Since(started), err
	case <-time.After(10 * time.Second):
		t.Fatalf("Stop with a %s deadline has not returned after 10s", deadline)
		return 0, nil
	}
}
