package sqlstore

import (
	"encoding/json"
	"net/http"
	"slices"
)

// appendHeaderJSON appends h encoded exactly as json.Marshal encodes it:
// names in byte order, each with its list of values, nil as null. Every
// attempt stores two header maps, and through reflection json.Marshal cost
// as much as a tenth of the recording's CPU; this is the same bytes without
// reflection or the map's sort through interfaces.
func appendHeaderJSON(dst []byte, h http.Header) []byte {
	if h == nil {
		return append(dst, "null"...)
	}
	var room [16]string
	names := room[:0]
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	dst = append(dst, '{')
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		values := h[name]
		if values == nil {
			dst = append(dst, "null"...)
			continue
		}
		dst = append(dst, '[')
		for j, v := range values {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. Printable ASCII that
// json.Marshal leaves alone, which is nearly every header, is copied as
// it stands; anything else (quotes, backslashes, the HTML characters
// json.Marshal escapes, control characters, non-ASCII) goes through
// json.Marshal, so the bytes never differ from its.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainJSON marks the bytes json.Marshal copies into a string as they are.
var plainJSON = func() (plain [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		plain[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return plain
}()
