package sqlstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The stored headers must read back as they always did, and stay the same
// bytes for anything that compares them: appendHeaderJSON is checked
// against json.Marshal itself.
func TestHeaderJSONIsJSONMarshal(t *testing.T) {
	many := http.Header{}
	for i := range 40 {
		many[strings.Repeat("X", i%7)+string(rune('a'+i%26))+strings.Repeat("z", i)] = []string{"v", strings.Repeat("w", i)}
	}
	for name, h := range map[string]http.Header{
		"nil":          nil,
		"empty":        {},
		"nil values":   {"A": nil},
		"empty values": {"A": {}},
		"typical": {
			"Content-Type": {"application/json; charset=utf-8"}, "User-Agent": {"ActiGraph-Hookshot/1.0"},
			"X-ActiGraph-Delivery": {"0193a5b4-7c1e-7b3a-9f00-123456789abc"}, "Authorization": {"[redacted]"},
			"X-ActiGraph-Signature": {"Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaQ="}, "Date": {"Mon, 07 Dec 2026 23:30:00 GMT"},
		},
		"several values": {"Set-Cookie": {"a=1", "b=2", ""}},
		"escapes":        {`q"uote`: {`back\slash`, "tab\there", "nl\n", "\x00\x1f\x7f"}, "html": {"<a href=\"x\">&amp;</a>"}},
		"non-ascii":      {"Ünïcode": {"héllo", "日本", "\u2028\u2029", "\xff\xfe bad utf-8", "\xe2\x82"}},
		"order":          {"b": {"1"}, "B": {"2"}, "a": {"3"}, "_": {"4"}, "": {"5"}, "aa": {"6"}},
		"many":           many,
	} {
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendHeaderJSON(nil, h); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func FuzzHeaderJSON(f *testing.F) {
	f.Add("Content-Type", "application/json", "X-A", "<&>\u2028\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := http.Header{k1: {v1, v2}, k2: {v2}}
		want, _ := json.Marshal(h)
		if got := appendHeaderJSON(nil, h); string(got) != string(want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}
