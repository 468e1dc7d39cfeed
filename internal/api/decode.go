package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
)

// decode reads a JSON request body into v. It is the one way every
// handler reads a body, so every endpoint refuses the same things: a
// Content-Type other than JSON (415), a body over the limit (413), bytes
// that are not UTF-8, escapes of half a UTF-16 surrogate pair, member
// names that repeat or that the endpoint does not know (spelt exactly, not
// matched case-insensitively as encoding/json would), and data after the
// value. Each of these would otherwise be read one way by Hookshot and
// another by the caller: encoding/json turns bad UTF-8 into U+FFFD and
// lets the last of two equal names win.
func decode(r *http.Request, v any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge(maxErr.Limit)
		}
		return hookshot.Errorf(hookshot.EMalformed, "The body could not be read: %v.", err)
	}
	return decodeJSON(body, v)
}

func tooLarge(limit int64) error {
	return hookshot.Errorf(hookshot.ETooLarge, "The body is larger than the limit of %d bytes (HOOKSHOT_MAX_BODY).", limit)
}

// checkContentType accepts application/json, optionally with
// charset=utf-8, and nothing else: a form, text or a missing type means
// the caller is not sending what it thinks it is.
func checkContentType(ct string) error {
	refuse := func(why string) error {
		return hookshot.Errorf(hookshot.EUnsupportedMediaType, "The body must be JSON sent with \"Content-Type: application/json\" (optionally \"; charset=utf-8\"); %s.", why)
	}
	if strings.TrimSpace(ct) == "" {
		return refuse("the request has no Content-Type")
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return refuse(fmt.Sprintf("%q is not a media type", ct))
	}
	if media != "application/json" {
		return refuse(fmt.Sprintf("got %q", media))
	}
	for name, value := range params {
		if name != "charset" || !strings.EqualFold(value, "utf-8") {
			return refuse(fmt.Sprintf("the parameter %s=%s is not accepted", name, value))
		}
	}
	return nil
}

// maxBodyDepth bounds nesting in a request body, so that the strict walk
// cannot be made to recurse without end; payloads keep the catalog's own,
// equal bound.
const maxBodyDepth = 64

// decodeJSON is decode for a body already read.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return hookshot.Errorf(hookshot.EMalformed, "The body is empty; it must be a JSON object.")
	}
	if !utf8.Valid(body) {
		at := len(body)
		for i := 0; i < len(body); {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				at = i
				break
			}
			i += size
		}
		return hookshot.Errorf(hookshot.EMalformed, "The body is not UTF-8 text: byte %d is not part of a UTF-8 character. Send the JSON encoded as UTF-8.", at)
	}
	w := &strictWalk{dec: json.NewDecoder(bytes.NewReader(body))}
	if err := w.value(reflect.TypeOf(v), "", 0); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return hookshot.Errorf(hookshot.EMalformed, "The body has data after its JSON value.")
	}
	if at := loneSurrogate(body); at >= 0 {
		return hookshot.Errorf(hookshot.EMalformed, "The body is not valid text: the escape at byte %d (%s) is half of a UTF-16 surrogate pair, which stands for no character.", at, body[at:at+6])
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// strictWalk reads the body's tokens alongside the Go type they will
// decode into, to find what encoding/json lets pass.
type strictWalk struct {
	dec *json.Decoder
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// guide returns the type whose members are checked for t, or nil where
// anything goes (raw JSON such as a payload, any, custom decoders).
func guide(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == rawMessageType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

func (w *strictWalk) value(t reflect.Type, path string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return decodeError(err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxBodyDepth {
		return hookshot.Errorf(hookshot.EMalformed, "The body nests deeper than %d levels.", maxBodyDepth)
	}
	t = guide(t)
	if d == '[' {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := w.dec.Token()
		return decodeErrorOrNil(err)
	}
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return decodeError(err)
		}
		name, _ := tok.(string)
		field := memberPath(path, name)
		if seen[name] {
			msg := "appears more than once; readers of the JSON would disagree about which one counts"
			return &hookshot.Error{Code: hookshot.EInvalid,
				Message:     fmt.Sprintf("The body has %s more than once; send each field once.", field),
				FieldErrors: []hookshot.FieldError{{Field: field, Message: msg}}}
		}
		seen[name] = true
		sub := elem
		if fields != nil {
			ft, known := fields[name]
			if !known {
				return unknownField(field, name, fields)
			}
			sub = ft
		}
		if err := w.value(sub, field, depth+1); err != nil {
			return err
		}
	}
	_, err = w.dec.Token()
	return decodeErrorOrNil(err)
}

// jsonFields lists the member names a struct decodes, as encoding/json
// names them, with embedded structs' fields promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, shadowed := out[n]; !shadowed {
						out[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func unknownField(field, name string, fields map[string]reflect.Type) error {
	hint := "check its spelling against the API documentation"
	for known := range fields {
		if strings.EqualFold(known, name) {
			hint = fmt.Sprintf("field names are case-sensitive: did you mean %q?", known)
			break
		}
	}
	return &hookshot.Error{Code: hookshot.EMalformed,
		Message:     fmt.Sprintf("The body has a field %s that this endpoint does not know; %s.", field, hint),
		FieldErrors: []hookshot.FieldError{{Field: field, Message: "is not a known field"}}}
}

// memberPath extends a field path by one member name, in the dotted form
// of hookshot.FieldError ("auth.secret"); names that would not read as
// one word after a dot are quoted.
func memberPath(path, name string) string {
	plain := name != ""
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		return path + "[" + strconv.Quote(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

// loneSurrogate returns the offset of a \u escape in a valid JSON text
// that is half of a UTF-16 surrogate pair without its other half, or -1.
// encoding/json decodes such an escape as U+FFFD, so the caller's text and
// the stored one would differ.
func loneSurrogate(body []byte) int {
	in := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\':
			if i+5 >= len(body) || body[i+1] != 'u' {
				i++ // the escaped character, which may be a quote
				continue
			}
			r := hex4(body[i+2 : i+6])
			switch {
			case r >= 0xD800 && r < 0xDC00:
				if i+11 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
					if lo := hex4(body[i+8 : i+12]); lo >= 0xDC00 && lo < 0xE000 {
						i += 11
						continue
					}
				}
				return i
			case r >= 0xDC00 && r < 0xE000:
				return i
			}
			i += 5
		}
	}
	return -1
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 32)
	if err != nil {
		return -1
	}
	return rune(n)
}

func decodeErrorOrNil(err error) error {
	if err == nil {
		return nil
	}
	return decodeError(err)
}

// decodeError explains an encoding/json error in terms of the request.
func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
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
		// The strict walk finds unknown fields first; this is for types
		// it cannot see into.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &hookshot.Error{Code: hookshot.EMalformed,
			Message:     fmt.Sprintf("The body has a field %q that this endpoint does not know; check its spelling against the API documentation.", name),
			FieldErrors: []hookshot.FieldError{{Field: name, Message: "is not a known field"}}}
	}
	return hookshot.Errorf(hookshot.EMalformed, "The body is not valid JSON: %s.", err.Error())
}
