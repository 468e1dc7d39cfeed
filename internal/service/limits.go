package service

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
)

// maxAuthFieldLength bounds each text field of a webhook's authentication
// (SPEC §12), in bytes: enough for any real user name, secret, client id,
// scope list or token URL, and small enough that no caller can make a
// webhook row, its sealed credentials or an outgoing header large.
const maxAuthFieldLength = 1024

// checkText returns what is wrong with one text field of a webhook, or
// nil: it must be UTF-8 (the API refuses other bytes before this, the
// portal's forms reach it as sent), hold no control characters, which
// have no place in a header or a URL and which PostgreSQL cannot store
// (NUL), and be at most max bytes long.
func checkText(field, value string, max int) []hookshot.FieldError {
	bad := func(msg string) []hookshot.FieldError {
		return []hookshot.FieldError{{Field: field, Message: msg}}
	}
	if !utf8.ValidString(value) {
		return bad("must be UTF-8 text")
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return bad(fmt.Sprintf("must not contain control characters such as %U", r))
		}
	}
	if len(value) > max {
		return bad(fmt.Sprintf("is %d bytes long; at most %d bytes are accepted", len(value), max))
	}
	return nil
}

// checkAuthText applies checkText to every text field of a.
func checkAuthText(a AuthInput) []hookshot.FieldError {
	var out []hookshot.FieldError
	for _, f := range []struct{ name, value string }{
		{"auth.username", a.Username},
		{"auth.password", a.Password},
		{"auth.secret", a.Secret},
		{"auth.token_url", a.TokenURL},
		{"auth.client_id", a.ClientID},
		{"auth.client_secret", a.ClientSecret},
		{"auth.scope", a.Scope},
	} {
		out = append(out, checkText(f.name, f.value, maxAuthFieldLength)...)
	}
	return out
}
