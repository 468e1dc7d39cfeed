package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
)

// maxDepth bounds nesting. Real payloads nest three deep; the bound keeps a
// hostile payload from making the decoder and the validator recurse
// without end.
const maxDepth = 64

// maxExponent bounds a number's written exponent. The validator checks
// "integer" and "minimum" with exact big.Rat arithmetic, and 1e999999 costs
// tens of milliseconds there; no double needs an exponent beyond ±324.
const maxExponent = 1000

// decodePayload parses a payload for validation, keeping numbers as written
// (json.Number) so ids of any size compare exactly.
//
// It is stricter than encoding/json where receivers would disagree about
// what the bytes mean, because receivers get these bytes, not our reading
// of them: the payload must be UTF-8, member names must not repeat (one
// receiver would read the first "studyId", another the last, and the study
// check would be moot), and numbers must fit a double.
func decodePayload(payload []byte) (map[string]any, *hookshot.FieldError) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, &hookshot.FieldError{Field: "payload", Message: "is required: a JSON object"}
	}
	if !utf8.Valid(payload) {
		return nil, &hookshot.FieldError{Field: "payload", Message: "must be UTF-8 text"}
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(payload))}
	d.dec.UseNumber()
	v, bad := d.value(nil, 0)
	if bad != nil {
		return nil, bad
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &hookshot.FieldError{Field: "payload", Message: "must be a JSON object, not " + describeValue(v)}
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, &hookshot.FieldError{Field: "payload", Message: "must hold one JSON object and nothing after it"}
	}
	return obj, nil
}

type decoder struct {
	dec *json.Decoder
}

// step is one level of the path to the value being decoded. Paths are
// rendered only for an error, which keeps the common case cheap.
type step struct {
	parent *step
	key    string
	index  int // the position, when the parent is an array
	array  bool
}

func (s *step) field() string {
	if s == nil {
		return "payload"
	}
	if s.array {
		return fmt.Sprintf("%s[%d]", s.parent.field(), s.index)
	}
	return s.parent.field() + memberPath(s.key)
}

func (d *decoder) value(at *step, depth int) (any, *hookshot.FieldError) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, syntaxError(err, d.dec.InputOffset())
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, &hookshot.FieldError{Field: at.field(), Message: fmt.Sprintf("nests deeper than %d levels", maxDepth)}
		}
		if t == '{' {
			return d.object(at, depth)
		}
		return d.array(at, depth)
	case json.Number:
		if msg := checkNumber(t); msg != "" {
			return nil, &hookshot.FieldError{Field: at.field(), Message: msg}
		}
		return t, nil
	default: // string, bool or nil
		return t, nil
	}
}

func (d *decoder) object(at *step, depth int) (any, *hookshot.FieldError) {
	obj := map[string]any{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, syntaxError(err, d.dec.InputOffset())
		}
		key, ok := tok.(string)
		if !ok {
			// Token guarantees a string key inside an object; this is
			// defensive, not reachable.
			return nil, &hookshot.FieldError{Field: at.field(), Message: "has a member name that is not a string"}
		}
		member := &step{parent: at, key: key}
		if _, dup := obj[key]; dup {
			return nil, &hookshot.FieldError{Field: member.field(), Message: "appears more than once; receivers would disagree about which one counts"}
		}
		v, bad := d.value(member, depth+1)
		if bad != nil {
			return nil, bad
		}
		obj[key] = v
	}
	if _, err := d.dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err, d.dec.InputOffset())
	}
	return obj, nil
}

func (d *decoder) array(at *step, depth int) (any, *hookshot.FieldError) {
	arr := []any{}
	for i := 0; d.dec.More(); i++ {
		v, bad := d.value(&step{parent: at, index: i, array: true}, depth+1)
		if bad != nil {
			return nil, bad
		}
		arr = append(arr, v)
	}
	if _, err := d.dec.Token(); err != nil { // the closing bracket
		return nil, syntaxError(err, d.dec.InputOffset())
	}
	return arr, nil
}

func syntaxError(err error, offset int64) *hookshot.FieldError {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &hookshot.FieldError{Field: "payload", Message: "is not valid JSON: it ends too soon"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
	}
	return &hookshot.FieldError{Field: "payload", Message: fmt.Sprintf("is not valid JSON near byte %d: %s", offset, strings.TrimPrefix(err.Error(), "json: "))}
}

// checkNumber returns why a number is refused, or "".
func checkNumber(n json.Number) string {
	s := n.String()
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return fmt.Sprintf("is %s, a number whose exponent is beyond ±%d", truncate(s), maxExponent)
		}
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return fmt.Sprintf("is %s, a number too large for a 64-bit float, which receivers could not read", truncate(s))
	}
	return ""
}

// identifier is a member name that reads well after a dot.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// memberPath renders one member name of a field path: ".studyId" when the
// name is a plain identifier, `["odd name"]` otherwise, so every path is
// unambiguous.
func memberPath(key string) string {
	if identifier.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

// describeValue names a JSON value for messages, quoting scalars so people
// see what they sent, and naming containers by kind.
func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return truncate(v.String())
	case string:
		return strconv.Quote(truncate(v))
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%v", v)
	}
}

// truncate keeps quoted values in messages short.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
