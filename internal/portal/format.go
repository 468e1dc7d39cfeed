package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

func formatTime(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.UTC().Format("2006-01-02 15:04:05 UTC")
	case *time.Time:
		if v == nil {
			return "—"
		}
		return formatTime(*v)
	}
	return ""
}

// ago says how long ago t was, roughly, for lists where the exact time is
// in the element's title.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func formatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// formatBody shows a stored body: JSON indented, other text as it is, and
// binary as its size, since it cannot be shown.
func formatBody(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("(%d bytes of binary data)", len(b))
	}
	var out bytes.Buffer
	if json.Valid(b) && json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return string(b)
}

// bodyNote says what formatBody did, so that nobody checks a signature
// against the indented text.
func bodyNote(b []byte) string {
	switch {
	case len(b) == 0:
		return "Body"
	case utf8.Valid(b) && json.Valid(b):
		return fmt.Sprintf("Body: %d bytes of JSON, indented here for reading", len(b))
	}
	return fmt.Sprintf("Body: %d bytes", len(b))
}

type headerLine struct{ Name, Value string }

// sortedHeaders lists headers by name, one line per value, as they would
// appear on the wire.
func sortedHeaders(h http.Header) []headerLine {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	var out []headerLine
	for _, name := range names {
		for _, v := range h[name] {
			out = append(out, headerLine{name, v})
		}
	}
	return out
}

func hasString(list []string, s string) bool { return slices.Contains(list, s) }

// label turns a status such as in_progress into words.
func label(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") }

type resendData struct {
	CSRF     string
	StudyID  int64
	Delivery deliveryView
	Back     string
}

func resendArgs(csrf string, study int64, d deliveryView, back string) resendData {
	return resendData{CSRF: csrf, StudyID: study, Delivery: d, Back: back}
}

type fieldData struct {
	Name, Label, Type, Hint, Value, Error string
	Secret                                bool
}

func fieldArgs(f *webhookForm, name, label, typ, hint, value string) fieldData {
	return fieldData{Name: name, Label: label, Type: typ, Hint: hint, Value: value, Error: f.Err(name), Secret: typ == "password"}
}

func secretHint(f *webhookForm) string {
	if f.Editing {
		return "Stored encrypted and never shown. Enter a new value only to change it."
	}
	return "Stored encrypted; it is never shown again."
}
