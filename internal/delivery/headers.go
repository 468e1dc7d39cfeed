package delivery

import (
	"fmt"
	"net/http"
	"slices"
)

// maxStoredHeaderBytes bounds the response headers kept with an attempt
// (SPEC §12), counted as names plus values. The transport already refuses
// more than maxResponseHeaderBytes on the wire; this bound is for the
// record, whatever the transport lets through.
const maxStoredHeaderBytes = 64 << 10

// truncatedHeader is added to stored headers that were cut, so that
// nobody mistakes the record for the whole answer.
const truncatedHeader = "Hookshot-Headers-Truncated"

// capHeaders returns h, or, when its names and values add up to more than
// limit bytes, the headers that fit, in name order, and truncatedHeader
// saying how many values were left out.
func capHeaders(h http.Header, limit int) http.Header {
	total := 0
	for k, vs := range h {
		for _, v := range vs {
			total += len(k) + len(v)
		}
	}
	if total <= limit {
		return h
	}
	// Room for the note itself.
	limit -= len(truncatedHeader) + 64
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	out := http.Header{}
	used, dropped, droppedBytes := 0, 0, 0
	for _, k := range names {
		for _, v := range h[k] {
			if size := len(k) + len(v); used+size <= limit {
				out[k] = append(out[k], v)
				used += size
			} else {
				dropped++
				droppedBytes += size
			}
		}
	}
	out[truncatedHeader] = []string{fmt.Sprintf("%d values (%d bytes) not stored; at most %d bytes of headers are kept", dropped, droppedBytes, maxStoredHeaderBytes)}
	return out
}
