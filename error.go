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
)

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
// any other error, and "" for nil. ErrNotFound maps to ENotFound.
func ErrorCode(err error) string {
	if err == nil {
		return ""
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
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if errors.Is(err, ErrNotFound) {
		return "Not found."
	}
	return "An internal error occurred."
}
