package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// skipOrFail skips a test that cannot run here, except under CI, where
// everything it needs must be present.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// postgresBin is where Debian's PostgreSQL 15 keeps its server programs.
const postgresBin = "/usr/lib/postgresql/15/bin"

// ownPostgres is a PostgreSQL server of the test's own, in a temporary
// directory, on a free loopback port: a test may stop, start and
// reconfigure it without touching the machine's shared server.
type ownPostgres struct {
	t    *testing.T
	dir  string
	data string
	port int
	cred *syscall.Credential

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *bytes.Buffer
}

// startOwnPostgres initialises a cluster and starts it. initdb refuses to
// run as root, so the server runs as the postgres OS user.
func startOwnPostgres(t *testing.T) *ownPostgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(postgresBin, "initdb")); err != nil {
		skipOrFail(t, "PostgreSQL's server programs are not in %s: %v", postgresBin, err)
	}
	pg := &ownPostgres{t: t}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipOrFail(t, "running as root without a postgres user for the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "hookshot-own-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The server's user must reach its directories: t.TempDir's are 0700
	// and root's.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg.dir, pg.data = dir, filepath.Join(dir, "data")
	if pg.cred != nil {
		if err := os.Chown(dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	initdb := pg.command(filepath.Join(postgresBin, "initdb"), "-D", pg.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.port = freePort(t)
	pg.Start()
	t.Cleanup(pg.Stop)
	return pg
}

func (pg *ownPostgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = pg.dir
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	return cmd
}

// URL is the database URL of the cluster's postgres database.
func (pg *ownPostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// Start runs the server and waits until it accepts connections.
func (pg *ownPostgres) Start() {
	pg.t.Helper()
	pg.mu.Lock()
	cmd := pg.command(filepath.Join(postgresBin, "postgres"), "-D", pg.data, "-p", strconv.Itoa(pg.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+pg.dir)
	pg.logs = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = pg.logs, pg.logs
	if err := cmd.Start(); err != nil {
		pg.mu.Unlock()
		pg.t.Fatalf("starting postgres: %v", err)
	}
	pg.cmd, pg.exited = cmd, make(chan struct{})
	exited := pg.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	pg.mu.Unlock()
	waitFor(pg.t, 30*time.Second, "our own PostgreSQL to accept connections", func() bool {
		select {
		case <-exited:
			pg.t.Fatalf("postgres exited at start:\n%s", pg.logs.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			return false
		}
		conn.Close(ctx)
		return true
	})
}

// Stop shuts the server down fast (SIGINT: sessions are cut, the data
// is flushed) and waits for it to exit. A stopped server is left alone.
func (pg *ownPostgres) Stop() {
	pg.mu.Lock()
	cmd, exited := pg.cmd, pg.exited
	pg.cmd = nil
	pg.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		pg.t.Errorf("postgres did not stop within 60s of SIGINT")
	}
}

// Exec runs statements on the server as its superuser.
func (pg *ownPostgres) Exec(sql ...string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		pg.t.Fatalf("connecting to our own PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			pg.t.Fatalf("%s: %v", s, err)
		}
	}
}

// freePort returns a loopback TCP port that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// smallDisk mounts a tmpfs of size bytes on a new directory, unmounted
// when the test ends (after the hookshot processes started later are
// killed, since cleanups run last in, first out).
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hookshot-small-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		skipOrFail(t, "cannot mount a small tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full, and returns a
// function that removes it again.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", dir, err)
	}
	return func() {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// mustBeUnavailable checks an answer is the 503 problem that a failing
// database gives: Retry-After, problem JSON, a message that says so.
func mustBeUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d, want 503: %s", what, r.Status, r.Body)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Fatalf("%s: Retry-After %q, want seconds", what, r.Header.Get("Retry-After"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problemJSON
	r.JSON(t, &p)
	if p.Status != 503 || !strings.Contains(p.Detail, "unavailable") && !strings.Contains(p.Detail, "cannot be read or written") {
		t.Fatalf("%s: problem %+v does not say that the database is unavailable", what, p)
	}
}

// waitReady waits until GET /readyz answers want (the answer is cached
// for about a second, so a change shows within that).
func (h *Hookshot) waitReady(t *testing.T, want int) response {
	t.Helper()
	var r response
	waitFor(t, 30*time.Second, fmt.Sprintf("/readyz to answer %d", want), func() bool {
		r = h.callAs("", "GET", "/readyz", nil)
		return r.Status == want
	})
	return r
}

// publisher publishes upload events to one study steadily, from its own
// goroutine, and keeps every answer: which events were accepted (202, with
// their deliveries) and how many were refused with a proper 503.
type publisher struct {
	h     *Hookshot
	study int64

	mu          sync.Mutex
	accepted    []publishJSON
	unavailable int
	wrong       []string // anything else: a bare 500, a 503 without Retry-After, ...

	stop chan struct{}
	done chan struct{}
}

func startPublisher(t *testing.T, h *Hookshot, study int64) *publisher {
	p := &publisher{h: h, study: study, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	t.Cleanup(p.Stop)
	return p
}

func (p *publisher) run() {
	defer close(p.done)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 1; ; i++ {
		select {
		case <-p.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		body := publishBody("upload", uploadPayload(p.study, "completed", 900000+i))
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/studies/%d/events", p.h.URL, p.study), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			p.record(func() { p.wrong = append(p.wrong, err.Error()) })
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			var pub publishJSON
			if err := json.Unmarshal(b, &pub); err != nil {
				p.record(func() { p.wrong = append(p.wrong, "202 with "+string(b)) })
				continue
			}
			p.record(func() { p.accepted = append(p.accepted, pub) })
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" &&
			resp.Header.Get("Content-Type") == "application/problem+json":
			p.record(func() { p.unavailable++ })
		default:
			p.record(func() {
				p.wrong = append(p.wrong, fmt.Sprintf("%d (Retry-After %q): %s", resp.StatusCode, resp.Header.Get("Retry-After"), b))
			})
		}
	}
}

func (p *publisher) record(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

// counts returns how many publishes were accepted and refused so far.
func (p *publisher) counts() (accepted, unavailable int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accepted), p.unavailable
}

// Stop ends the publishing and waits for the request in flight.
func (p *publisher) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// check fails the test for any answer that was neither 202 nor a proper
// 503, and returns the accepted publications.
func (p *publisher) check(t *testing.T) []publishJSON {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.wrong) > 0 {
		t.Fatalf("%d publishes were answered neither 202 nor 503 with Retry-After, e.g. %s", len(p.wrong), p.wrong[0])
	}
	return append([]publishJSON(nil), p.accepted...)
}

// waitDelivered waits until the receiver has got every delivery that the
// publications list, and returns how many requests each delivery got.
func waitDelivered(t *testing.T, rc *receiver, pubs []publishJSON) map[string]int {
	t.Helper()
	want := map[string]bool{}
	for _, p := range pubs {
		for _, d := range p.Deliveries {
			want[d.ID] = true
		}
	}
	var got map[string]int
	missing := 0
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = map[string]int{}
		for _, ev := range rc.Events() {
			got[ev.Header.Get("X-Actigraph-Delivery")]++
		}
		missing = 0
		for id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted deliveries never reached the receiver", missing, len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// portalClient is a browser without JavaScript: cookies, forms, no
// redirects followed, so that each answer can be checked.
type portalClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newPortalClient(t *testing.T, base string) *portalClient {
	jar, _ := cookiejar.New(nil)
	return &portalClient{t: t, base: base, http: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *portalClient) do(method, path string, form url.Values) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token of the page at path.
func (c *portalClient) csrf(path string) string {
	c.t.Helper()
	r := c.do("GET", path, nil)
	m := csrfInput.FindSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: %d, no form token:\n%s", path, r.Status, r.Body)
	}
	return string(m[1])
}

// signIn posts the sign-in form and returns the answer.
func (c *portalClient) signIn(email, password string) response {
	c.t.Helper()
	return c.do("POST", "/login", url.Values{"csrf": {c.csrf("/login")}, "email": {email}, "password": {password}})
}

// mustBeUnavailablePage checks a portal answer is the readable 503 page.
func mustBeUnavailablePage(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d, want 503:\n%s", what, r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: no Retry-After", what)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q, want a page", what, ct)
	}
	for _, s := range []string{"Storage unavailable", "nothing was changed", "Try again"} {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Fatalf("%s: the page does not say %q:\n%s", what, s, r.Body)
		}
	}
}

// countLines counts the log lines that contain s.
func countLines(logs, s string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
