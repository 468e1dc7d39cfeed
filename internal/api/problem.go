package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// problemDoc is an RFC 9457 problem document. Errors lists the offending
// fields when there are any.
type problemDoc struct {
	Type     string                `json:"type"`
	Title    string                `json:"title"`
	Status   int                   `json:"status"`
	Detail   string                `json:"detail"`
	Instance string                `json:"instance,omitempty"`
	Errors   []hookshot.FieldError `json:"errors,omitempty"`
}

// problem renders err. Internal errors are logged with their detail and
// shown only as a generic message.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	code := hookshot.ErrorCode(err)
	status := hookshot.HTTPStatus(code)
	switch status {
	case http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		// Debug: during an outage every request fails alike, and the
		// engine and /readyz already say so once per change.
		s.log.Debug("request refused: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
	}
	doc := problemDoc{
		Type:     "about:blank",
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   hookshot.ErrorMessage(err),
		Instance: r.URL.Path,
	}
	var e *hookshot.Error
	if errors.As(err, &e) {
		doc.Errors = e.FieldErrors
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookshot"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	writeJSON(w, status, doc)
}

// retryAfter is hookshot.RetryAfter as a Retry-After header: seconds.
var retryAfter = strconv.Itoa(int(hookshot.RetryAfter.Seconds()))

func writeJSON(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	if strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") || strings.HasPrefix(goKind, "float") {
		return "number"
	}
	return goKind
}

// pathID parses a positive integer path segment.
func pathID(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n, err == nil && n > 0
}

// pageLimit parses a list's limit parameter; "" means the default (0).
func pageLimit(raw string) (int, error) {
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > service.MaxPageSize {
		return 0, &hookshot.Error{Code: hookshot.EMalformed, Message: "The query parameter limit must be a whole number between 1 and 200.",
			FieldErrors: []hookshot.FieldError{{Field: "limit", Message: "must be a whole number between 1 and 200"}}}
	}
	return n, nil
}
