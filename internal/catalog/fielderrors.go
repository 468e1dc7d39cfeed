package catalog

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hookshot/hookshot"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// defMessages phrase a failed $defs schema as a whole. Without them a bad
// id would read as two complaints, "must be an integer" and "must match
// ^[0-9]+$", when the person needs one: what an id may look like.
var defMessages = map[string]string{
	"/$defs/id": `must be a non-negative integer or a string of digits, written canonically (no leading zeros, sign, decimal point or exponent), e.g. 189 or "189"`,
}

// fieldErrors turns the validator's error tree into one FieldError per
// offending field, sorted by field. The library's own messages name JSON
// pointers and schema keywords; these name payload fields and say what to
// send instead.
func (e *entry) fieldErrors(verr *jsonschema.ValidationError, payload any) []hookshot.FieldError {
	var out []hookshot.FieldError
	e.collect(verr, payload, &out)
	if len(out) == 0 {
		// Unreachable with our schemas; still, never refuse without a reason.
		out = append(out, hookshot.FieldError{Field: "payload", Message: "does not match the schema"})
	}
	slices.SortStableFunc(out, func(a, b hookshot.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return slices.Compact(out)
}

func (e *entry) collect(ve *jsonschema.ValidationError, payload any, out *[]hookshot.FieldError) {
	value, field := locate(payload, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		// Wrappers: the complaints are in the causes.
		for _, c := range ve.Causes {
			e.collect(c, payload, out)
		}
	case *kind.Required:
		when := e.condition(ve.SchemaURL)
		for _, name := range k.Missing {
			*out = append(*out, hookshot.FieldError{Field: field + memberPath(name), Message: "is required" + when})
		}
	case *kind.AnyOf:
		if msg, ok := defMessages[fragment(ve.SchemaURL)]; ok {
			*out = append(*out, hookshot.FieldError{Field: field, Message: msg + "; got " + describeValue(value)})
			return
		}
		// Say what each alternative wanted, in one message for the field.
		var alts []string
		for _, c := range ve.Causes {
			var sub []hookshot.FieldError
			e.collect(c, payload, &sub)
			for _, s := range sub {
				alts = append(alts, strings.TrimSpace(strings.TrimPrefix(s.Field, field)+" "+s.Message))
			}
		}
		*out = append(*out, hookshot.FieldError{Field: field, Message: "matches none of the allowed forms: " + strings.Join(alts, "; or ")})
	default:
		*out = append(*out, hookshot.FieldError{Field: field, Message: leafMessage(ve.ErrorKind, value)})
	}
}

// leafMessage phrases one failed keyword for the value that failed it.
func leafMessage(k jsonschema.ErrorKind, value any) string {
	got := "; got " + describeValue(value)
	switch k := k.(type) {
	case *kind.Type:
		return "must be " + typeNames(k.Want) + got
	case *kind.Enum:
		return "must be one of " + jsonList(k.Want) + got
	case *kind.Const:
		return "must be " + jsonText(k.Want) + got
	case *kind.Pattern:
		return "must match the pattern " + k.Want + got
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long%s", k.Want, got)
	case *kind.Minimum:
		return "must be at least " + k.Want.RatString() + got
	case *kind.Maximum:
		return "must be at most " + k.Want.RatString() + got
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.FalseSchema:
		return "is not allowed"
	default:
		// A keyword our schemas do not use yet: name it, since the schema
		// is published and says what it wants.
		return fmt.Sprintf("fails the schema's %q rule", strings.Join(k.KeywordPath(), "/"))
	}
}

// typeNames renders JSON Schema type names as English: ["string", "null"]
// becomes "a string or null".
func typeNames(types []string) string {
	// The validator lists "null" first; "a string or null" reads better.
	types = slices.Clone(types)
	slices.SortStableFunc(types, func(a, b string) int {
		return boolInt(a == "null") - boolInt(b == "null")
	})
	names := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "integer", "object", "array":
			names[i] = "an " + t
		case "null":
			names[i] = "null"
		case "boolean":
			names[i] = "true or false"
		default:
			names[i] = "a " + t
		}
	}
	return strings.Join(names, " or ")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func jsonList(values []any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = jsonText(v)
	}
	return strings.Join(parts, ", ")
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// locate follows a JSON pointer's tokens through the payload and returns
// the value there (nil if absent) and its field path, e.g.
// "payload.files[1].monitor_serial". Whether a token is an array index
// depends on the value it indexes, so the path is built while walking.
func locate(payload any, tokens []string) (any, string) {
	var b strings.Builder
	b.WriteString("payload")
	cur := payload
	for _, tok := range tokens {
		switch c := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString(memberPath(tok))
			cur = c[tok]
		default:
			b.WriteString(memberPath(tok))
			cur = nil
		}
	}
	return cur, b.String()
}

// fragment returns the JSON pointer of a schema location, unescaped from
// URL form, e.g. "/$defs/id".
func fragment(schemaURL string) string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	if f, err := url.PathUnescape(frag); err == nil {
		return f
	}
	return frag
}

// condition explains a requirement that comes from an if/then: when the
// failing schema is a "then" whose "if" tests one property against a
// constant, it returns e.g. ` when status is "error"`, so the person knows
// why the field is suddenly required. Otherwise it returns "".
func (e *entry) condition(schemaURL string) string {
	frag := fragment(schemaURL)
	parent, ok := strings.CutSuffix(frag, "/then")
	if !ok {
		return ""
	}
	cond, _ := pointer(e.doc, parent+"/if").(map[string]any)
	props, _ := cond["properties"].(map[string]any)
	if len(props) != 1 {
		return ""
	}
	for name, sub := range props {
		s, _ := sub.(map[string]any)
		if want, ok := s["const"]; ok {
			return fmt.Sprintf(" when %s is %s", name, jsonText(want))
		}
	}
	return ""
}

// pointer resolves a JSON pointer (RFC 6901) within doc, or returns nil.
func pointer(doc any, ptr string) any {
	if ptr == "" {
		return doc
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}
