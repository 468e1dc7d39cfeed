package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

const receiveSummary = `Runs a webhook receiver for trying Hookshot out: it answers the validation
handshake, checks the signature (format actigraph or standard) when given
--secret, and prints every request it gets. Plain HTTP unless given
--tls-cert and --tls-key, so point Hookshot at it with HOOKSHOT_ALLOW_HTTP=true and HOOKSHOT_EGRESS_ALLOW=127.0.0.0/8.`

func runReceive(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("receive", receiveSummary, `hookshot receive --secret 's3cret'
hookshot receive --addr 127.0.0.1:9001 --status 500`)
	fs.group("Listening")
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	certFile := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM)")
	keyFile := fs.String("tls-key", "", "and this key (PEM)")
	fs.group("Answers")
	// Declared empty and set from the environment afterwards, so that
	// --help never shows the secret as the default.
	secret := fs.String("secret", "", "HMAC secret to verify X-ActiGraph-Signature or webhook-signature with")
	fs.note("secret", "env HOOKSHOT_RECEIVE_SECRET")
	*secret = getenv("HOOKSHOT_RECEIVE_SECRET")
	next := fs.String("next-secret", "", "a second secret to accept too, as a receiver does during a rotation's overlap")
	fs.note("next-secret", "env HOOKSHOT_RECEIVE_NEXT_SECRET")
	*next = getenv("HOOKSHOT_RECEIVE_NEXT_SECRET")
	status := fs.Int("status", http.StatusOK, "status to answer events with (try 500 to watch retries)")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var mu sync.Mutex // keeps printed requests whole when they arrive together
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "--- %s %s %s\n", time.Now().Format(time.RFC3339Nano), r.Method, r.URL.RequestURI())
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := r.Header[k]
			if k == "Authorization" {
				v = []string{"[present, not shown]"}
			}
			fmt.Fprintf(stdout, "%s: %s\n", k, v)
		}
		fmt.Fprintf(stdout, "\n%s\n", body)
		if *secret != "" || *next != "" {
			// Either format, chosen by the request's headers; in format
			// standard the timestamp must be within five minutes.
			v := webhook.Verifier{Secrets: []string{*secret, *next}}
			if err := v.Verify(r.Header, body); err != nil {
				fmt.Fprintf(stdout, "signature: INVALID (%v)\n", err)
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			fmt.Fprintln(stdout, "signature: valid")
		}
		if webhook.AnswerValidation(w, r) {
			fmt.Fprintln(stdout, "validation: answered with the code")
			return
		}
		w.WriteHeader(*status)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if *certFile != "" {
		scheme = "https"
	}
	fmt.Fprintf(stderr, "receiving webhooks at %s://%s/\n", scheme, ln.Addr())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if *certFile != "" {
		err = srv.ServeTLS(ln, *certFile, *keyFile)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
