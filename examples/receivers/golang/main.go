// Command receiver is an example Hookshot webhook receiver in Go, built on
// the repository's webhook package. It verifies X-ActiGraph-Signature
// against every secret in WEBHOOK_SECRETS, answers the validation
// handshake, deduplicates on X-ActiGraph-Delivery and logs one JSON line
// per request to stdout.
//
//	WEBHOOK_SECRETS=s3cret RECEIVER_ADDR=127.0.0.1:9000 go run ./examples/receivers/golang
//
// It speaks plain HTTP so that it runs on a laptop; Hookshot sends to http://
// URLs only when its operator allows them (HOOKSHOT_ALLOW_HTTP). In
// production a receiver sits behind HTTPS, here with
// srv.ServeTLS(ln, "cert.pem", "key.pem") or behind a TLS-terminating proxy.
package main

import (
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

// maxSeen bounds the memory deduplication takes.
const maxSeen = 10_000

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("receiver stopped", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	addr := os.Getenv("RECEIVER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	// Several secrets, so that a rotation is a matter of adding the new one
	// beside the old one and later dropping the old one.
	var secrets []string
	for s := range strings.SplitSeq(os.Getenv("WEBHOOK_SECRETS"), ",") {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return errors.New("set WEBHOOK_SECRETS to the webhook's HMAC secret (several separated by commas during a rotation)")
	}
	rc := &receiver{
		verifier: &webhook.Verifier{Secrets: secrets, Format: webhook.FormatActiGraph},
		seen:     newSeenSet(maxSeen),
		logger:   logger,
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks", rc)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	return srv.Serve(ln)
}

type receiver struct {
	verifier *webhook.Verifier
	seen     *seenSet
	logger   *slog.Logger
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delivery, event := r.Header.Get(webhook.HeaderDelivery), r.Header.Get(webhook.HeaderEvent)
	// answer writes the status and the request's log line, the only place
	// either is written.
	answer := func(status int, verified, duplicate bool, err error) {
		attrs := []any{"delivery", delivery, "event", event, "verified", verified, "duplicate", duplicate, "status", status}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		rc.logger.Info("delivery", attrs...)
		w.WriteHeader(status)
	}
	// A declared length over the limit is refused before a byte of the body
	// is read; VerifyRequest stops at the limit for bodies that lie.
	if r.ContentLength > webhook.MaxBodySize {
		answer(http.StatusRequestEntityTooLarge, false, false, webhook.ErrBodyTooLarge)
		return
	}
	// The validation request is signed too, so everything is verified
	// first: only the webhook's owner can validate it against this URL.
	body, err := rc.verifier.VerifyRequest(r)
	switch {
	case errors.Is(err, webhook.ErrBodyTooLarge):
		answer(http.StatusRequestEntityTooLarge, false, false, err)
		return
	case err != nil:
		answer(http.StatusUnauthorized, false, false, err)
		return
	}
	if webhook.IsValidation(r) {
		w.Header().Set(webhook.HeaderHookSecret, r.Header.Get(webhook.HeaderHookSecret))
		answer(http.StatusOK, true, false, nil)
		return
	}
	// Hookshot delivers at least once: a repeat gets 200 so that it stops,
	// and is not processed again.
	if !rc.seen.add(delivery) {
		answer(http.StatusOK, true, true, nil)
		return
	}
	if err := handle(event, body); err != nil {
		// Forgotten, so that Hookshot's retry is processed.
		rc.seen.remove(delivery)
		answer(http.StatusInternalServerError, true, false, err)
		return
	}
	answer(http.StatusOK, true, false, nil)
}

// handle is where a real receiver's work starts. Hookshot waits for the
// answer (15 s at most by default), so store the event or queue it, and do
// anything slow after answering.
func handle(event string, body []byte) error {
	// Parse the verified bytes themselves: the signature covers them, not
	// a re-encoding.
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		return fmt.Errorf("parsing the %s payload: %w", event, err)
	}
	return nil
}

// seenSet remembers the most recent delivery ids, forgetting the oldest
// beyond its size. It lives in memory only to keep the example short: a
// real receiver records the id in its database, in the transaction that
// stores the event, so that a restart or a second instance still knows it.
type seenSet struct {
	mu    sync.Mutex
	size  int
	ids   map[string]*list.Element
	order *list.List // of ids, oldest first
}

func newSeenSet(size int) *seenSet {
	return &seenSet{size: size, ids: make(map[string]*list.Element, size), order: list.New()}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = s.order.PushBack(id)
	if s.order.Len() > s.size {
		delete(s.ids, s.order.Remove(s.order.Front()).(string))
	}
	return true
}

// remove forgets id.
func (s *seenSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.ids[id]; ok {
		s.order.Remove(e)
		delete(s.ids, id)
	}
}
