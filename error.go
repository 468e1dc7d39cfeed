package hookshot

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors that Store methods return, wrapped.
var (
	ErrNotFound            = errors.New("not found")
	ErrDeliveryInProgress  = errors.New("delivery is still in progress")
	ErrIdempotencyMismatch = errors.New("idempotency key was used for a different request")
	// ErrStorageUnavailable marks a failure of the database itself, not of
	// the request: it cannot be reached, is read-only, is full, or kept its
	// lock past the busy timeout. The call changed nothing (but for a
	// commit cut off mid-way, see Store), and the same call may succeed
	// once the database is back, so callers answer 503 and retry rather
	// than give up. Stores wrap it together with the driver's
	// error, so that errors.Is finds it and the log still says what failed.
	ErrStorageUnavailable = errors.New("storage unavailable")
)

// RetryAfter is what a caller refused with ErrStorageUnavailable is told
// to wait (Retry-After) before trying again: long enough not to hammer a
// database that is coming back, short enough that a restart of it costs a
// client little.
const RetryAfter = 5 * time.Second

// Error codes, each mapped to one HTTP status by the API.
const (
	EMalformed    = "malformed"    // unreadable input: 400
	EInvalid      = "invalid"      // well-formed but wrong input: 422
	ENotFound     = "not_found"    // 404
	EConflict     = "conflict"     // 409
	EUnauthorized = "unauthorized" // 401
	EForbidden    = "forbidden"    // 403
	ETooLarge     = "too_large"    // 413
	ETooMany      = "too_many"     // 429, with Retry-After from Error.RetryAfter
	EInternal     = "internal"     // 500
	EUnavailable  = "unavailable"  // storage unavailable, try again later: 503
	// EMethodNotAllowed: the path exists, not with this method (405).
	EMethodNotAllowed = "method_not_allowed"
	// EUnsupportedMediaType is a body of a type the endpoint does not read: 415.
	EUnsupportedMediaType = "unsupported_media_type"
)

// HTTPStatus maps an error code to its HTTP status: the one place where
// that decision is made, for the API's problem documents and the portal's
// error pages alike. Anything unknown is 500.
func HTTPStatus(code string) int {
	switch code {
	case EMalformed:
		return http.StatusBadRequest
	case EInvalid:
		return http.StatusUnprocessableEntity
	case ENotFound:
		return http.StatusNotFound
	case EConflict:
		return http.StatusConflict
	case EUnauthorized:
		return http.StatusUnauthorized
	case EForbidden:
		return http.StatusForbidden
	case ETooLarge:
		return http.StatusRequestEntityTooLarge
	case ETooMany:
		return http.StatusTooManyRequests
	case EUnavailable:
		return http.StatusServiceUnavailable
	case EMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case EUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// Error is an error meant for the person who caused it: Message says what
// to do about it, and FieldErrors point at the offending input.
type Error struct {
	Code        string
	Message     string
	FieldErrors []FieldError
	// RetryAfter, when not 0, is how long to wait before asking again.
	RetryAfter time.Duration
}

// FieldError names one bad input field, in JSON-pointer-ish dotted form
// (e.g. "auth.secret") and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error with the given field errors.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EInvalid, Message: message, FieldErrors: fields}
}

// ErrorCode returns the code of the *Error in err's chain, EInternal for
// any other error, and "" for nil. ErrNotFound maps to ENotFound, and
// ErrStorageUnavailable to EUnavailable, whatever else the chain holds: a
// failing database is the answer even where a caller wrapped its error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrStorageUnavailable) {
		return EUnavailable
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrNotFound) {
		return ENotFound
	}
	return EInternal
}

// ErrorMessage returns the human message of the *Error in err's chain, and
// a generic message for any other error so internal details never leak.
func ErrorMessage(err error) string {
	if errors.Is(err, ErrStorageUnavailable) {
		return unavailableMessage
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if errors.Is(err, ErrNotFound) {
		return "Not found."
	}
	return "An internal error occurred."
}

// unavailableMessage is what people are told when the database fails. The
// reason (unreachable, read-only, full) is for the operator's log: callers
// can do nothing about it but wait.
var unavailableMessage = fmt.Sprintf("Hookshot's database is unavailable right now (unreachable, read-only or full), so nothing was changed. Try again in %d seconds or later.", int(RetryAfter.Seconds()))
