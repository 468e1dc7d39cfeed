package e2e

import (
	"bufio"
	"bytes"

	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/pgtest"
)

var (
	binary   string                   // the hookshot binary built for this test run
	caFile   string                   // trusts httptest's TLS certificate, for SSL_CERT_FILE
	fixtures = catalog.ExampleFiles() // the example payload of every event type
)

const adminToken = "test-admin-token-0123456789"

func TestMain(m *testing.M) {
	flag.Parse()
	if !flagGiven("test.parallel") {
		// These tests spend their time waiting on hookshot processes and
		// receivers, not computing: on two cores, eight at once finish the
		// package in about 60% of the time that the default (GOMAXPROCS)
		// takes. -parallel still decides when given.
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(run(m))
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hookshot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "hookshot")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/hookshot")
	if raceEnabled {
		build.Args = append(build.Args[:2], append([]string{"-race"}, build.Args[2:]...)...)
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hookshot:", err)
		return 1
	}
	// Every httptest TLS server presents the same certificate, so one CA
	// file lets the binary trust all of the receivers a test starts.
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	caFile = filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	srv.Close()
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// backend is a database the service can run on.
type backend struct {
	name string
	// database returns a fresh HOOKSHOT_DATABASE for one test.
	database func(t *testing.T) string
}

func backends(t *testing.T) []backend {
	out := []backend{{name: "sqlite", database: func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "hookshot.db")
	}}}
	if os.Getenv("HOOKSHOT_TEST_POSTGRES") != "" || os.Getenv("CI") == "true" {
		out = append(out, backend{name: "postgres", database: func(t *testing.T) string { return pgtest.URL(t) }})
	}
	return out
}

// eachBackend runs f as a parallel subtest on every backend: each owns
// its process, database and receivers, so nothing is shared between them.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// Hookshot is one running hookshot serve process.
type Hookshot struct {
	t        testing.TB
	URL      string
	Database string
	env      []string
	cmd      *exec.Cmd
	logs     *logBuffer
	exited   chan struct{}
	dir      string
}

// secretKey is shared by every process of a test so they can open each
// other's credentials, as operators must arrange with PostgreSQL.
const secretKey = "7f3c9a1b2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

// start runs hookshot serve on database with the test defaults and any
// extra KEY=VALUE settings (later ones win).
func start(t *testing.T, database string, extra ...string) *Hookshot {
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HOOKSHOT_ADDR=127.0.0.1:0",
		"HOOKSHOT_DATABASE=" + database,
		"HOOKSHOT_ADMIN_TOKEN=" + adminToken,
		"HOOKSHOT_SECRET_KEY=" + secretKey,
		"HOOKSHOT_EGRESS_ALLOW=127.0.0.0/8,::1/128",
		"HOOKSHOT_RETRY_SCHEDULE=200ms,400ms",
		"HOOKSHOT_DELIVERY_TIMEOUT=3s",
		"HOOKSHOT_LEASE=4s",
		"HOOKSHOT_LOG_LEVEL=debug",
		"SSL_CERT_FILE=" + caFile,
	}
	env = append(env, extra...)
	h := &Hookshot{t: t, Database: database, env: env}
	h.launch()
	t.Cleanup(func() {
		h.Kill()
		// A binary built with -race reports races on its stderr.
		if strings.Contains(h.Logs(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in hookshot:\n%s", h.Logs())
		}
	})
	return h
}

func (h *Hookshot) launch() {
	h.t.Helper()
	if h.dir == "" {
		h.dir = h.t.TempDir()
	}
	h.launchIn(h.dir)
}

// Kill ends the process with SIGKILL: no shutdown, no flushing.
func (h *Hookshot) Kill() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.exited
}

// Stop sends SIGTERM and waits for a clean exit.
func (h *Hookshot) Stop() {
	h.t.Helper()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(60 * time.Second):
		h.t.Fatalf("hookshot did not exit within 60s of SIGTERM:\n%s", h.logs.String())
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 0 {
		h.t.Fatalf("hookshot exited with %d after SIGTERM:\n%s", code, h.logs.String())
	}
}

// Restart starts the process again on the same database and settings.
func (h *Hookshot) Restart() {
	h.t.Helper()
	h.launch()
}

// Logs returns what the process has logged so far.
func (h *Hookshot) Logs() string { return h.logs.String() }

type logBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	listening chan string
}

var listenLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (l *logBuffer) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.buf.WriteString(line)
		l.buf.WriteByte('\n')
		l.mu.Unlock()
		if m := listenLine.FindStringSubmatch(line); m != nil {
			select {
			case l.listening <- m[1]:
			default:
			}
		}
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// response is an API answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it can't.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

var apiClient = &http.Client{Timeout: 30 * time.Second}

// call makes an API request with the admin token. body may be nil, a
// string or []byte (sent as is), or anything else (sent as JSON).
func (h *Hookshot) call(method, path string, body any, header ...string) response {
	h.t.Helper()
	return h.callAs(adminToken, method, path, body, header...)
}

func (h *Hookshot) callAs(token, method, path string, body any, header ...string) response {
	h.t.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		sent = j
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	checkContract(h.t, req, sent, resp, b)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must checks the status of an API answer.
func (r response) must(t *testing.T, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// launchIn starts the process in dir with h.env as it is.
func (h *Hookshot) launchIn(dir string) {
	h.t.Helper()
	h.logs = &logBuffer{listening: make(chan string, 1)}
	h.exited = make(chan struct{})
	cmd := exec.Command(binary, "serve")
	cmd.Env = h.env
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.cmd = cmd
	go h.logs.consume(stderr)
	go func() { _ = cmd.Wait(); close(h.exited) }()
	select {
	case addr := <-h.logs.listening:
		h.URL = "http://" + addr
	case <-h.exited:
		h.t.Fatalf("hookshot exited before listening:\n%s", h.logs.String())
	case <-time.After(30 * time.Second):
		h.t.Fatalf("hookshot did not start listening within 30s:\n%s", h.logs.String())
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}
