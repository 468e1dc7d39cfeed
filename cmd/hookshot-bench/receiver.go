package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// receiverRole, set in the environment, makes this binary the receiver: a
// process of its own, so that its CPU is not counted as Hookshot's or the
// bare client's, and so that it does not share the measuring process's
// garbage collector.
const receiverRole = "HOOKSHOT_BENCH_RECEIVER"

// receiverStats is what the receiver has seen since its last reset.
type receiverStats struct {
	Received   int64     `json:"received"`
	Duplicates int64     `json:"duplicates"`
	LatencyMS  []float64 `json:"latency_ms"`  // sorted; publish sent → delivery received
	CPU        float64   `json:"cpu_seconds"` // the receiver's own, since its start
}

// runReceiver serves HTTPS on a loopback port it prints as its first line,
// until its stdin closes.
func runReceiver(stdin io.Reader, stdout io.Writer) error {
	cert, err := tls.LoadX509KeyPair(os.Getenv("HOOKSHOT_BENCH_CERT"), os.Getenv("HOOKSHOT_BENCH_KEY"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var (
		mu        sync.Mutex
		received  int64
		dups      int64
		seen      = map[string]struct{}{}
		latencies []float64
	)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if r.Header.Get("X-ActiGraph-Event") == "validation" {
			w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
			return
		}
		now := time.Now().UnixNano()
		sent := sentAt(body)
		id := r.Header.Get("X-ActiGraph-Delivery")
		mu.Lock()
		received++
		if id != "" {
			if _, ok := seen[id]; ok {
				dups++
			}
			seen[id] = struct{}{}
		}
		if sent > 0 {
			latencies = append(latencies, float64(now-sent)/1e6)
		}
		mu.Unlock()
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := receiverStats{Received: received, Duplicates: dups, LatencyMS: append([]float64(nil), latencies...)}
		mu.Unlock()
		sortFloats(s.LatencyMS)
		s.CPU, _ = processCPU(os.Getpid())
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received, dups, seen, latencies = 0, 0, map[string]struct{}{}, nil
		mu.Unlock()
	})
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	fmt.Fprintln(stdout, ln.Addr().String())
	_, _ = io.Copy(io.Discard, stdin)
	return srv.Close()
}

// sentAt reads the publish time that the benchmark writes into the
// payload's subjectId (digits, so the catalog accepts it).
func sentAt(body []byte) int64 {
	const key = `"subjectId": "`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n
}

// receiverProcess is the running receiver, seen from the benchmark.
type receiverProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	url    string // of the hook path
	base   string
	client *http.Client
}

func startReceiver(c *certFiles) (*receiverProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), receiverRole+"=1", "HOOKSHOT_BENCH_CERT="+c.cert, "HOOKSHOT_BENCH_KEY="+c.key)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("the receiver did not start: %w", err)
	}
	base := "https://" + line[:len(line)-1]
	return &receiverProcess{cmd: cmd, stdin: stdin, url: base + "/hook", base: base, client: c.client(8)}, nil
}

func (p *receiverProcess) stats() (receiverStats, error) {
	var s receiverStats
	resp, err := p.client.Get(p.base + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func (p *receiverProcess) reset() error {
	resp, err := p.client.Post(p.base+"/reset", "text/plain", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (p *receiverProcess) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
