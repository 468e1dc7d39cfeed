package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// class sorts an attempt's result for the metrics and the traces (SPEC
// §18): the receiver's status class when it answered, else what kept the
// answer from arriving.
type class string

const (
	class2xx     class = "2xx"
	class3xx     class = "3xx"
	class4xx     class = "4xx"
	class5xx     class = "5xx"
	classTimeout class = "timeout"
	classTLS     class = "tls"
	classConnect class = "connect"
	// classRefused: the address guard would not connect (private,
	// loopback, link-local or metadata address).
	classRefused class = "refused"
	// classOther: nothing was sent for a reason of ours (credentials that
	// cannot be opened, a URL that cannot be requested, an OAuth2 token
	// endpoint that said no), or the answer was not HTTP.
	classOther class = "other"
)

// classes lists every class, so that each series exists from the start
// and a rate over it is defined before the first attempt of its kind.
var classes = []class{class2xx, class3xx, class4xx, class5xx, classTimeout, classTLS, classConnect, classRefused, classOther}

// statusClass is the class of a receiver's answer.
func statusClass(code int) class {
	switch {
	case code >= 200 && code < 300:
		return class2xx
	case code >= 300 && code < 400:
		return class3xx
	case code >= 400 && code < 500:
		return class4xx
	case code >= 500 && code < 600:
		return class5xx
	}
	return classOther
}

// errorClass is the class of an attempt that got no usable answer.
func errorClass(err error) class {
	var (
		certErr     *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		alertErr    tls.AlertError
		netErr      net.Error
		dnsErr      *net.DNSError
		opErr       *net.OpError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return classTimeout
	case isGuardRefusal(err):
		return classRefused
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return classTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return classTimeout
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return classConnect
	}
	return classOther
}
