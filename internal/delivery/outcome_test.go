package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"

	"code.dny.dev/ssrf"
)

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]class{200: class2xx, 204: class2xx, 302: class3xx, 404: class4xx, 429: class4xx, 500: class5xx, 503: class5xx, 101: classOther, 600: classOther} {
		if got := statusClass(code); got != want {
			t.Errorf("statusClass(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestErrorClass(t *testing.T) {
	post := func(err error) error { return &url.Error{Op: "Post", URL: "https://receiver.example/hooks", Err: err} }
	dial := func(err error) error { return post(&net.OpError{Op: "dial", Net: "tcp", Err: err}) }
	cases := map[string]struct {
		err  error
		want class
	}{
		"deadline":        {post(context.DeadlineExceeded), classTimeout},
		"guard":           {dial(ssrf.ErrProhibitedIP), classRefused},
		"unknown CA":      {post(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), classTLS},
		"bare unknown CA": {post(x509.UnknownAuthorityError{}), classTLS},
		"wrong host name": {post(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "a"}), classTLS},
		"refused":         {dial(syscall.ECONNREFUSED), classConnect},
		"dns":             {dial(&net.DNSError{Err: "no such host", Name: "receiver.example"}), classConnect},
		"something else":  {fmt.Errorf("oauth2: %w", errors.New("token endpoint answered 401")), classOther},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := errorClass(c.err); got != c.want {
				t.Fatalf("errorClass(%v) = %s, want %s", c.err, got, c.want)
			}
		})
	}
}
