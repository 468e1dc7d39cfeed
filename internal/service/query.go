package service

import (
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// The checks of list queries (deliveries, events), shared so that every
// list says the same of the same parameter. Each appends its problem, if
// any, to problems, naming the parameter as the caller wrote it.

// badQuery is the error of a list query with problems: EMalformed, since
// a query that cannot be read selects nothing, and the API answers 400.
func badQuery(list string, problems []hookshot.FieldError) error {
	return &hookshot.Error{Code: hookshot.EMalformed, Message: "The " + list + " query is not valid: " + summary(problems), FieldErrors: problems}
}

// queryGUID reads a GUID parameter, in either case, as the lower-case
// form that Hookshot stores.
func queryGUID(problems []hookshot.FieldError, name, raw string) (string, []hookshot.FieldError) {
	if raw == "" {
		return "", problems
	}
	id := strings.ToLower(strings.TrimSpace(raw))
	if !guidPattern.MatchString(id) {
		return "", append(problems, hookshot.FieldError{Field: name, Message: "must be a GUID such as 0193a5e2-7c1d-7b3e-9f00-2a6c1e4b5d70"})
	}
	return id, problems
}

// queryWindow reads since and until, RFC 3339 times; until must be later
// than since.
func queryWindow(problems []hookshot.FieldError, rawSince, rawUntil string) (since, until time.Time, _ []hookshot.FieldError) {
	parse := func(name, raw string) time.Time {
		if raw == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(raw))
		if err != nil {
			problems = append(problems, hookshot.FieldError{Field: name, Message: "must be an RFC 3339 time such as 2026-12-04T09:30:00Z"})
			return time.Time{}
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	since, until = parse("since", rawSince), parse("until", rawUntil)
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		problems = append(problems, hookshot.FieldError{Field: "until", Message: "must be later than since"})
	}
	return since, until, problems
}

// queryCursor reads a cursor that a list gave out as next_cursor.
func queryCursor(problems []hookshot.FieldError, raw string) (*hookshot.Cursor, []hookshot.FieldError) {
	if raw == "" {
		return nil, problems
	}
	c, err := hookshot.DecodeCursor(raw)
	if err != nil {
		return nil, append(problems, hookshot.FieldError{Field: "cursor", Message: "is not a cursor this API returned (" + err.Error() + "); use next_cursor of the previous page"})
	}
	return &c, problems
}

// queryLimit applies the default page size to 0 and checks the bounds.
func queryLimit(problems []hookshot.FieldError, limit int) (int, []hookshot.FieldError) {
	if limit == 0 {
		return DefaultPageSize, problems
	}
	if limit < 1 || limit > MaxPageSize {
		return 0, append(problems, hookshot.FieldError{Field: "limit", Message: "must be a whole number between 1 and 200"})
	}
	return limit, problems
}
