package postgres_test

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
	"github.com/hookshot/hookshot/internal/postgres"
	"github.com/hookshot/hookshot/internal/storetest"
)

// The network between the store and PostgreSQL is cut for real: the store
// connects through a TCP relay on the loopback address, which the test
// closes (every connection broken, new ones refused) and opens again on
// the same port.
func TestUnavailableWhenCutOff(t *testing.T) {
	storetest.RunUnavailable(t, func(t *testing.T) (hookshot.Store, func(t *testing.T), func(t *testing.T)) {
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		r := newRelay(t, u.Host)
		u.Host = r.addr
		return open(t, u.String()), func(t *testing.T) { r.cut() }, func(t *testing.T) { r.listen(t) }
	})
}

// The errors a store meets when PostgreSQL fails are classified as the
// storage being unavailable; a statement's own mistakes are not.
func TestUnavailableClassification(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"disk full", &pgconn.PgError{Code: "53100"}, true},
		{"read-only transaction", &pgconn.PgError{Code: "25006"}, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"I/O error", &pgconn.PgError{Code: "58030"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"connection closed", pgconn.ErrConnClosed, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"anything else", errors.New("reading a time: got NULL"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := postgres.Unavailable(c.err); got != c.want {
				t.Fatalf("Unavailable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// relay forwards TCP connections to a target until cut.
type relay struct {
	target, addr string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newRelay(t *testing.T, target string) *relay {
	r := &relay{target: target, addr: "127.0.0.1:0"}
	r.listen(t)
	t.Cleanup(r.cut)
	return r
}

func (r *relay) listen(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("relay listening on %s: %v", r.addr, err)
	}
	r.mu.Lock()
	r.ln, r.addr = ln, ln.Addr().String()
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", r.target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
