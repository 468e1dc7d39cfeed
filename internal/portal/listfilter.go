package portal

import (
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
)

// The filters of the portal's lists (a webhook's deliveries, a study's
// events), read from the page's query string. The forms use
// <input type="datetime-local">, which sends a time without a zone; the
// portal shows every time in UTC, so that is how it reads them.

// listFilter is what a list's filter form holds, as the browser sent it.
type listFilter struct {
	Status string // deliveries only
	Type   string // the event type
	Since  string // datetime-local, UTC
	Until  string
	Find   string // deliveries only: a delivery or event GUID
	// Error says what is wrong with the filter; the page shows it and
	// lists nothing rather than something else than was asked.
	Error string
}

// datetimeLocal is the value layout of <input type="datetime-local">;
// browsers add seconds when the user gives them.
var datetimeLocal = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

func readFilter(q url.Values) listFilter {
	return listFilter{
		Status: strings.TrimSpace(q.Get("status")),
		Type:   strings.TrimSpace(q.Get("event")),
		Since:  strings.TrimSpace(q.Get("since")),
		Until:  strings.TrimSpace(q.Get("until")),
		Find:   strings.ToLower(strings.TrimSpace(q.Get("q"))),
	}
}

// Active reports whether any filter is set.
func (f listFilter) Active() bool {
	return f.Status != "" || f.Type != "" || f.Since != "" || f.Until != "" || f.Find != ""
}

// window returns since and until as the services read them (RFC 3339),
// or sets Error.
func (f *listFilter) window() (since, until string) {
	parse := func(what, raw string) string {
		if raw == "" || f.Error != "" {
			return ""
		}
		for _, layout := range datetimeLocal {
			if t, err := time.Parse(layout, raw); err == nil {
				return t.UTC().Format(time.RFC3339)
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
		f.Error = "The " + what + " time must be a date and time such as 2026-12-04T09:30 (UTC)."
		return ""
	}
	since, until = parse("From", f.Since), parse("Until", f.Until)
	if f.Error == "" && since != "" && until != "" && until <= since {
		f.Error = "The Until time must be later than the From time."
	}
	return since, until
}

// serviceError turns a service's refusal of the query into Error, and
// reports whether it was one.
func (f *listFilter) serviceError(err error) bool {
	if hookshot.ErrorCode(err) != hookshot.EMalformed {
		return false
	}
	f.Error = hookshot.ErrorMessage(err)
	return true
}

// pageLink is path with the filter and, when not "", the cursor of the
// page to show. A template.URL, so that the query's & and = stay as they
// are: every value is escaped by url.Values.Encode.
func (f listFilter) pageLink(path, before string) template.URL {
	q := url.Values{}
	for _, kv := range [][2]string{{"status", f.Status}, {"event", f.Type}, {"since", f.Since}, {"until", f.Until}, {"q", f.Find}, {"before", before}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if len(q) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + q.Encode())
}
