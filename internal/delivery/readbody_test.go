package delivery

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// readResponseBody keeps what io.ReadAll of the capped body kept, whatever
// the announced length and however the body arrives, and reads past the
// cap only to drain.
func TestReadResponseBody(t *testing.T) {
	broken := errors.New("connection reset")
	for _, c := range []struct {
		name          string
		body          io.Reader
		contentLength int64
		want          string
		wantErr       error
		wantLeft      int // bytes left unread in the body
	}{
		{"empty", strings.NewReader(""), 0, "", nil, 0},
		{"empty, length unknown", strings.NewReader(""), -1, "", nil, 0},
		{"announced", strings.NewReader("ok"), 2, "ok", nil, 0},
		{"unknown length, byte by byte", iotest.OneByteReader(strings.NewReader(strings.Repeat("a", 1500))), -1, strings.Repeat("a", 1500), nil, 0},
		{"announced short, byte by byte", iotest.OneByteReader(strings.NewReader("abcdef")), 2, "abcdef", nil, 0},
		{"exactly the cap", strings.NewReader(strings.Repeat("b", responseBodyCap)), responseBodyCap, strings.Repeat("b", responseBodyCap), nil, 0},
		{"over the cap, drained", strings.NewReader(strings.Repeat("c", responseBodyCap+1000)), -1, strings.Repeat("c", responseBodyCap), nil, 0},
		{"beyond the drain", strings.NewReader(strings.Repeat("d", responseBodyCap+drainCap+10)), -1, strings.Repeat("d", responseBodyCap), nil, 10},
		{"broken", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(broken)), 100, "part", broken, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var left bytes.Buffer
			resp := &http.Response{Body: io.NopCloser(c.body), ContentLength: c.contentLength}
			got, err := readResponseBody(resp)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if string(got) != c.want || got == nil {
				t.Errorf("read %d bytes %.20q…, want %d bytes %.20q…", len(got), got, len(c.want), c.want)
			}
			if c.wantErr == nil {
				_, _ = io.Copy(&left, c.body)
				if left.Len() != c.wantLeft {
					t.Errorf("%d bytes left unread, want %d", left.Len(), c.wantLeft)
				}
			}
		})
	}
}
