package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/hookshot/hookshot"
)

// exampleFile names the example payload of a type and, for upload, of one
// status: examples/<type>.json or examples/upload-<status>.json.
func exampleFile(eventType, status string) string {
	if eventType == hookshot.EventUpload {
		return eventType + "-" + status + ".json"
	}
	return eventType + ".json"
}

// defaultExampleStatus is the upload status whose example the catalog
// shows: the one receivers most often act on.
const defaultExampleStatus = UploadCompleted

// loadExamples reads every type's example payloads, keyed by
// exampleFile, and checks each against its own schema, so that a test
// event is always one its receiver could also get from a producer.
func (c *Catalog) loadExamples() error {
	c.examples = map[string][]byte{}
	for _, e := range c.entries {
		statuses := []string{""}
		if e.typ.Name == hookshot.EventUpload {
			statuses = []string{UploadStarted, UploadCompleted, UploadError}
		}
		for _, status := range statuses {
			name := exampleFile(e.typ.Name, status)
			b, err := fs.ReadFile(ExampleFiles(), name)
			if err != nil {
				return fmt.Errorf("catalog: the example of %s: %w", e.typ.Name, err)
			}
			id, err := exampleStudy(b, e.studyField)
			if err != nil {
				return fmt.Errorf("catalog: %s: %w", name, err)
			}
			if _, err := c.Validate(e.typ.Name, id, b); err != nil {
				return fmt.Errorf("catalog: %s does not pass its own schema: %w", name, err)
			}
			c.examples[name] = b
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, c.examples[exampleFile(e.typ.Name, defaultExampleStatus)]); err != nil {
			return fmt.Errorf("catalog: compacting the example of %s: %w", e.typ.Name, err)
		}
		e.typ.Example = compact.Bytes()
	}
	return nil
}

// Example returns the example payload of a type for a study: the
// catalog's example with its study id replaced by studyID, written the
// way the example writes it (a string or a number), every other byte
// unchanged. For upload, status chooses the example (started, completed
// or error; "" is completed); other types take no status. An unknown
// type or status is EInvalid naming the field.
func (c *Catalog) Example(eventType, status string, studyID int64) ([]byte, error) {
	e, ok := c.byName[eventType]
	if !ok {
		return nil, c.unknown(eventType)
	}
	if eventType == hookshot.EventUpload {
		statuses := []string{UploadStarted, UploadCompleted, UploadError}
		if status == "" {
			status = defaultExampleStatus
		}
		if !slices.Contains(statuses, status) {
			msg := fmt.Sprintf("%q is not an upload status; use %s", status, strings.Join(statuses, ", "))
			return nil, hookshot.Invalid("Unknown upload status: "+msg+".", hookshot.FieldError{Field: "status", Message: msg})
		}
	} else if status != "" {
		msg := fmt.Sprintf("applies to upload events only; %s has one example", eventType)
		return nil, hookshot.Invalid("status "+msg+".", hookshot.FieldError{Field: "status", Message: msg})
	}
	b := c.examples[exampleFile(eventType, status)]
	return withStudy(b, e.studyField, studyID)
}

// exampleStudy reads the study id of an example payload.
func exampleStudy(payload []byte, field string) (int64, error) {
	start, end, err := memberValue(payload, field)
	if err != nil {
		return 0, err
	}
	raw := strings.Trim(string(payload[start:end]), `"`)
	return strconv.ParseInt(raw, 10, 64)
}

// withStudy returns payload with the value of its top-level member field
// replaced by id, quoted when the old value was a string.
func withStudy(payload []byte, field string, id int64) ([]byte, error) {
	start, end, err := memberValue(payload, field)
	if err != nil {
		return nil, err
	}
	value := strconv.FormatInt(id, 10)
	if payload[start] == '"' {
		value = strconv.Quote(value)
	}
	out := make([]byte, 0, len(payload)+len(value))
	out = append(out, payload[:start]...)
	out = append(out, value...)
	return append(out, payload[end:]...), nil
}

// memberValue finds where the value of a top-level member of a JSON
// object starts and ends, so that it can be replaced without re-encoding
// the rest.
func memberValue(payload []byte, field string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		key, _ := tok.(string)
		// After a key, the decoder has read up to the key's closing quote;
		// the value starts after the colon and any space.
		at := int(dec.InputOffset())
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return 0, 0, err
		}
		if key != field {
			continue
		}
		end := int(dec.InputOffset())
		start := at + bytes.IndexFunc(payload[at:end], func(r rune) bool { return !strings.ContainsRune(" \t\r\n:", r) })
		return start, end, nil
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return 0, 0, err
	}
	return 0, 0, fmt.Errorf("no member %q", field)
}
