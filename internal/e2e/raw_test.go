package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// rawReceiver starts a TLS listener that reads one request's header lines
// as they were written on the wire, answers the validation handshake, and
// sends the header names to names.
func rawReceiver(t *testing.T, names chan<- []string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS() // only for its certificate
	cert := srv.TLS.Certificates[0]
	srv.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				rd := bufio.NewReader(c)
				var got []string
				code := ""
				if _, err := rd.ReadString('\n'); err != nil {
					return
				}
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					if line == "" {
						break
					}
					name, value, _ := strings.Cut(line, ":")
					got = append(got, name)
					if strings.EqualFold(name, "X-ActiGraph-Hook-Secret") {
						code = strings.TrimSpace(value)
					}
				}
				select {
				case names <- got:
				default:
				}
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nX-ActiGraph-Hook-Secret: " + code + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}(conn)
		}
	}()
	return "https://" + ln.Addr().String() + "/"
}
