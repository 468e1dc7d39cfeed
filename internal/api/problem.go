package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

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

// decode reads a JSON body into v, refusing unknown fields and trailing
// data, and explains what is wrong in terms of the request.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return hookshot.Errorf(hookshot.EMalformed, "The body must be JSON, sent with Content-Type: application/json (got %q).", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return hookshot.Errorf(hookshot.EMalformed, "The body has data after its JSON value.")
		}
		if _, err := dec.Token(); err != io.EOF {
			return hookshot.Errorf(hookshot.EMalformed, "The body has data after its JSON value.")
		}
		return nil
	}
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return hookshot.Errorf(hookshot.ETooLarge, "The body is larger than the limit of %d bytes.", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return hookshot.Errorf(hookshot.EMalformed, "The body is empty; it must be a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return hookshot.Errorf(hookshot.EMalformed, "The body is not valid JSON: it ends too early.")
	case errors.As(err, &syntaxErr):
		return hookshot.Errorf(hookshot.EMalformed, "The body is not valid JSON: %s (at byte %d).", syntaxErr.Error(), syntaxErr.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return hookshot.Errorf(hookshot.EMalformed, "The body must be a JSON object.")
		}
		return &hookshot.Error{Code: hookshot.EMalformed,
			Message:     fmt.Sprintf("The field %s must be a JSON %s, not %s.", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value),
			FieldErrors: []hookshot.FieldError{{Field: field, Message: "must be a JSON " + jsonKind(typeErr.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &hookshot.Error{Code: hookshot.EMalformed,
			Message:     fmt.Sprintf("The body has a field %q that this endpoint does not know; check its spelling against the API documentation.", name),
			FieldErrors: []hookshot.FieldError{{Field: name, Message: "is not a known field"}}}
	}
	return hookshot.Errorf(hookshot.EMalformed, "The body is not valid JSON: %s.", err.Error())
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
