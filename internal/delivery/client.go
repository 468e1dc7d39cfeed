package delivery

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"code.dny.dev/ssrf"
)

// ClientOptions shape the outbound HTTP client.
type ClientOptions struct {
	// EgressAllow lists the networks exempt from the private-address guard
	// (HOOKSHOT_EGRESS_ALLOW), e.g. 127.0.0.0/8 for local testing.
	EgressAllow []netip.Prefix
	// MaxIdleConnsPerHost bounds the keep-alive connections pooled for one
	// receiver host. Default 64.
	MaxIdleConnsPerHost int
}

// NewClient returns the client every attempt (and OAuth2 token request)
// goes through. The address guard runs in the dialer's Control hook, after
// DNS resolution, so a hostname that resolves to a private or metadata
// address is refused at connect time no matter what DNS said when the
// webhook was created. Redirects are never followed: a 3xx is the answer.
func NewClient(opts ClientOptions) *http.Client {
	var v4, v6 []netip.Prefix
	for _, p := range opts.EgressAllow {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	guard := ssrf.New(
		// Receivers listen on whatever port they like; the danger is the
		// address, not the port.
		ssrf.WithAnyPort(),
		ssrf.WithAllowedV4Prefixes(v4...),
		ssrf.WithAllowedV6Prefixes(v6...),
	)
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   guard.Safe,
	}
	idle := opts.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = 64
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would sidestep the address guard
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           0,
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  0, // the per-attempt context bounds the whole attempt
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		HTTP2: &http.HTTP2Config{
			// No HPACK dynamic table for what Hookshot sends. Every
			// attempt carries values no other request repeats (delivery
			// id, signature, traceparent, timestamp): with the table,
			// each of them is added and an older entry evicted, map
			// writes and deletes that cost more than the bytes they
			// save, and the repeated values are soon evicted too. The
			// names stay indexed in the static table where HPACK has
			// them; receivers' answers are decoded as before.
			MaxEncoderHeaderTableSize: 1,
		},
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ParsePrefixes parses a list of CIDRs (or bare addresses, taken as single
// hosts) for ClientOptions.EgressAllow.
func ParsePrefixes(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 127.0.0.0/8", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// isGuardRefusal reports whether err came from the address guard, so the
// stored reason can say so plainly.
func isGuardRefusal(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedNetwork) || errors.Is(err, ssrf.ErrProhibitedPort)
}
