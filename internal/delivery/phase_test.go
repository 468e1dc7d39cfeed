package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// A timeout names the phase the attempt was in, so the receiver's owner
// knows where to look.
func TestTimeoutsNameTheirPhase(t *testing.T) {
	// Cleanups run last first: release is closed, ending the handlers,
	// before the servers are closed, which waits for them.
	release := make(chan struct{})

	// A server that accepts connections and never speaks TLS.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { <-release; c.Close() }()
		}
	}()
	// A server that takes the request and never answers.
	thinking := newReceiver(t, hang(release))
	// A server that answers the status and headers, then never the body.
	trickling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		hang(release)(w, r)
	}))
	t.Cleanup(trickling.Close)
	// A server that never reads the request body.
	deaf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hang(release)(w, r) }))
	t.Cleanup(deaf.Close)
	t.Cleanup(func() { close(release) })

	cases := []struct {
		name, url string
		body      []byte
		want      string
	}{
		{"TLS handshake", "https://" + silent.Addr().String() + "/", nil, "timed out after 500ms during the TLS handshake"},
		{"waiting", thinking.URL, nil, "timed out after 500ms while waiting for the answer"},
		{"reading", trickling.URL, nil, "timed out after 500ms while reading the answer"},
		{"sending", deaf.URL, bytes.Repeat([]byte("x"), 64<<20), "timed out after 500ms while sending the request"},
	}
	s := testSender()
	s.timeout = 500 * time.Millisecond
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob("d", 1, c.url)
			if c.body != nil {
				j.Payload = c.body
			}
			att, v := s.send(context.Background(), j, 1)
			if v.next != retry || !strings.Contains(att.Error, c.want) {
				t.Fatalf("verdict %s, error %q; want a retry saying %q and the timeout", v.next, att.Error, c.want)
			}
		})
	}
	t.Run("connecting", func(t *testing.T) {
		// Dialing cannot be made slow on the loopback interface, so this
		// case slows the dial itself, the step the phase stands for.
		s := testSender()
		s.timeout = 200 * time.Millisecond
		tr := s.client.Transport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		s.client = &http.Client{Transport: tr}
		att, _ := s.send(context.Background(), newJob("d", 1, thinking.URL), 1)
		if !strings.Contains(att.Error, "timed out after 200ms while connecting") {
			t.Fatalf("error %q, want a timeout while connecting", att.Error)
		}
	})
}

// On a connection kept alive from an earlier attempt, the teardown at the
// deadline fires trace hooks of its own; the phase is still the one the
// deadline found.
func TestTimeoutOnAReusedConnection(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get(DefaultWire.HeaderPrefix+"Delivery") == "first" {
			return
		}
		// Hang until the test ends, not until the request's context says
		// the client went: under -race the server sometimes cancels that
		// context at once and answers 200, which is no timeout to test.
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s := testSender()
	trust(s.client, srv)
	s.timeout = 500 * time.Millisecond
	if att, v := s.send(context.Background(), newJob("first", 1, srv.URL), 1); v.next != succeeded {
		t.Fatalf("first attempt: %s %q", v.next, att.Error)
	}
	for i := range 3 {
		att, _ := s.send(context.Background(), newJob("d", 1, srv.URL), i+1)
		if !strings.Contains(att.Error, "timed out after 500ms while waiting for the answer") {
			t.Fatalf("attempt %d: error %q, want a timeout while waiting for the answer", i+1, att.Error)
		}
		// Keep a connection alive for the next one.
		if att, v := s.send(context.Background(), newJob("first", 1, srv.URL), 1); v.next != succeeded {
			t.Fatalf("in between: %s %q", v.next, att.Error)
		}
	}
}

// A receiver's headers are bounded: beyond 64 KiB the attempt fails
// saying so, on HTTP/1.1 and on HTTP/2, whether the excess is small or
// megabytes.
func TestResponseHeadersAreBounded(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, size := range []int{70 << 10, 9 << 20} {
			name := map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2] + map[int]string{70 << 10: " 70 KiB", 9 << 20: " 9 MiB"}[size]
			t.Run(name, func(t *testing.T) {
				rc := bigHeaders(t, h2, size)
				s := testSender()
				trust(s.client, rc)
				att, v := s.send(context.Background(), newJob("d", 1, rc.URL), 1)
				if v.next != retry || !strings.Contains(att.Error, "response headers exceed 64 KiB") {
					t.Fatalf("verdict %s, error %q; want a retry saying the headers are too large", v.next, att.Error)
				}
				if att.Response != nil {
					t.Fatalf("kept a response of %d headers", len(att.Response.Headers))
				}
			})
		}
	}
	t.Run("just under the limit is kept whole", func(t *testing.T) {
		rc := bigHeaders(t, false, 56<<10)
		s := testSender()
		att, v := s.send(context.Background(), newJob("d", 1, rc.URL), 1)
		if v.next != succeeded || len(att.Response.Headers["X-Big"]) != 7 || att.Response.Headers.Get(truncatedHeader) != "" {
			t.Fatalf("verdict %s, error %q, %d X-Big headers", v.next, att.Error, len(att.Response.Headers["X-Big"]))
		}
	})
}

// bigHeaders is a receiver answering 200 with size bytes of headers.
func bigHeaders(t *testing.T, h2 bool, size int) *httptest.Server {
	t.Helper()
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		value := strings.Repeat("a", 8<<10)
		for i := 0; i < size/len(value); i++ {
			w.Header().Add("X-Big", value)
		}
		w.WriteHeader(http.StatusOK)
	}))
	if h2 {
		rc.EnableHTTP2 = true
		rc.StartTLS()
	} else {
		rc.Start()
	}
	t.Cleanup(rc.Close)
	return rc
}

// trust makes client trust an httptest TLS server.
func trust(client *http.Client, srv *httptest.Server) {
	if srv.TLS == nil {
		return
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
}

func TestCapHeaders(t *testing.T) {
	small := http.Header{"A": {"1"}, "B": {"2", "3"}}
	if got := capHeaders(small, 100); len(got) != 2 || got.Get(truncatedHeader) != "" {
		t.Fatalf("headers under the cap changed: %v", got)
	}
	big := http.Header{}
	for i := range 40 {
		big.Add("X-"+string(rune('A'+i%26)), strings.Repeat("v", 4<<10))
	}
	got := capHeaders(big, maxStoredHeaderBytes)
	total := 0
	for k, vs := range got {
		for _, v := range vs {
			total += len(k) + len(v)
		}
	}
	if total > maxStoredHeaderBytes || !strings.Contains(got.Get(truncatedHeader), "values") {
		t.Fatalf("capped headers hold %d bytes, note %q", total, got.Get(truncatedHeader))
	}
}

type secretCredentials struct{ creds hookshot.Credentials }

func (s secretCredentials) Open([]byte) (hookshot.Credentials, error) { return s.creds, nil }

// A failed token request says it was the token request, with the
// endpoint's status and error, and without the secret or the token URL's
// query.
func TestTokenFailureSaysSo(t *testing.T) {
	const secret = "client-secret-never-shown"
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// An endpoint that echoes what it got, secret included.
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"unknown client","echo":"` + r.Header.Get("Authorization") + r.PostForm.Get("client_secret") + `"}`))
	}))
	t.Cleanup(tokens.Close)
	receiver := newReceiver(t, nil)
	client := loopbackClient()
	s := &sender{client: client, wire: DefaultWire, timeout: 5 * time.Second, tokens: newTokenCache(client), clock: clock.System{},
		opener: secretCredentials{hookshot.Credentials{ClientSecret: secret}}}
	j := newJob("d", 1, receiver.URL)
	j.Webhook.Auth = hookshot.Auth{Type: hookshot.AuthOAuth2, TokenURL: tokens.URL + "/token?api_key=query-secret", ClientID: "c"}
	att, v := s.send(context.Background(), j, 1)
	for _, want := range []string{"OAuth2 token request to " + tokens.URL + "/token failed", "401 Unauthorized", `"invalid_client"`, "unknown client", "client secret"} {
		if !strings.Contains(att.Error, want) {
			t.Fatalf("error %q does not say %q", att.Error, want)
		}
	}
	if v.next != retry || strings.Contains(att.Error, secret) || strings.Contains(att.Error, "query-secret") || strings.Contains(att.Error, "echo") {
		t.Fatalf("verdict %s, error %q: shows a secret or the endpoint's whole answer", v.next, att.Error)
	}
	if att.Request.Headers.Get("Authorization") != redacted {
		t.Fatalf("stored Authorization %q", att.Request.Headers.Get("Authorization"))
	}

	// A token endpoint that never answers times out as the token request.
	release := make(chan struct{})
	slow := httptest.NewServer(hang(release))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	s.timeout = 300 * time.Millisecond
	j.Webhook.Auth.TokenURL = slow.URL
	j.Webhook.UpdatedAt = time.Now() // a new version of the webhook: no cached entry
	att, _ = s.send(context.Background(), j, 2)
	if !strings.Contains(att.Error, "OAuth2 token request") || !strings.Contains(att.Error, "timed out after 300ms while waiting for the answer") {
		t.Fatalf("error %q, want the token request timing out while waiting", att.Error)
	}
}
