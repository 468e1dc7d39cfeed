package delivery

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/webhook"
)

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkSend is the cost of one attempt on the send path: credentials
// opened with the real box, signing, headers, and a POST over HTTP/2 to a
// TLS receiver in this process (whose share of the CPU is in the figure
// too, the same before and after a change of the sender).
func BenchmarkSend(b *testing.B) {
	box, err := credential.New(make([]byte, credential.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	seal := func(c hookshot.Credentials) []byte {
		sealed, err := box.Seal(c)
		if err != nil {
			b.Fatal(err)
		}
		return sealed
	}
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sealedKey, err := box.SealPrivateKey(private)
	if err != nil {
		b.Fatal(err)
	}
	keys := studyKeys{{ID: hookshot.KeyID(private.Public().(ed25519.PublicKey)), SealedPrivateKey: sealedKey}}

	var h2 atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h2.Store(r.ProtoMajor == 2)
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := loopbackClient()
	trust(client, srv)
	s := &sender{client: client, wire: DefaultWire, timeout: 5 * time.Second, opener: box, tokens: newTokenCache(client),
		clock: clock.System{}, keys: keys, keyOpen: box}

	payload := []byte(`{"type":"upload","study_id":189,"data":{"upload_id":12345,"status":"complete","subject":"S-0001","files":3}}`)
	for _, c := range []struct {
		name    string
		format  string
		auth    hookshot.AuthType
		secret  string
		sealing bool
	}{
		{"actigraph-hmac", webhook.FormatActiGraph, hookshot.AuthHMAC, "bench-secret-0123456789abcdef", true},
		{"standard-hmac", webhook.FormatStandard, hookshot.AuthHMAC, webhook.NewSecret(), true},
		{"standard-ed25519", webhook.FormatStandard, hookshot.AuthEd25519, "", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := &hookshot.Webhook{ID: 7, StudyID: 189, URL: srv.URL + "/hooks", Format: c.format, Auth: hookshot.Auth{Type: c.auth}}
			if c.sealing {
				w.SealedCredentials = seal(hookshot.Credentials{Secret: c.secret})
			}
			n := 0
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				n++
				job := &hookshot.Job{
					Delivery: &hookshot.Delivery{ID: "0193b6a0-0000-7000-8000-" + strconv.FormatInt(100000000000+int64(n), 10),
						WebhookID: w.ID, StudyID: w.StudyID, Event: "upload",
						TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692" + strconv.FormatInt(10000+int64(n%90000), 10) + "-01"},
					Webhook: w,
					Payload: payload,
				}
				if att, v := s.send(context.Background(), job, 1); v.next != succeeded {
					b.Fatalf("attempt failed: %s", att.Error)
				}
			}
			// The process's CPU time, less sensitive than the wall-clock
			// ns/op to what else runs on the machine.
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(n), "cpu-ns/op")
			if !h2.Load() {
				b.Fatal("the attempts did not go over HTTP/2")
			}
		})
	}
}
