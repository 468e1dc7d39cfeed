// Package catalog is the event catalog of SPEC §2: the event types a
// producer may publish, the JSON Schema (draft 2020-12) each payload must
// satisfy, and the options a webhook may set when it subscribes to a type.
//
// The schemas are embedded .json files (schemas/<type>.json). They are the
// single source of truth: the service enforces them on publish and
// publishes them unchanged on GET /v1/event-types, so producers can check
// their payloads against exactly what Hookshot checks.
package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hookshot/hookshot"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// Upload statuses, the values of an upload payload's "status" and of the
// upload subscription option "statuses".
const (
	UploadStarted   = "started"
	UploadCompleted = "completed"
	UploadError     = "error"
)

// OptionStatuses is the name of the upload subscription option that narrows
// a webhook to some upload statuses (hookshot.EventOptions.Statuses).
const OptionStatuses = "statuses"

// Option describes one option a webhook may set for an event type in its
// event_options, e.g. {"upload": {"statuses": ["completed", "error"]}}.
type Option struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Values are the allowed values; a subscription lists a subset of them
	// without repeats, and an empty list means all of them.
	Values []string `json:"values"`
}

// EventType describes one publishable event type, in the shape
// GET /v1/event-types shows it.
type EventType struct {
	Name string `json:"name"`
	// Description is one line for people choosing what to subscribe to; it
	// is the schema's own "description", so the two cannot drift apart.
	Description string `json:"description"`
	// Schema is the JSON Schema (draft 2020-12) the payload must satisfy,
	// as compact JSON.
	Schema json.RawMessage `json:"schema"`
	// Options are the subscription options the type accepts; never nil, so
	// the API shows [] rather than null.
	Options []Option `json:"options"`
	// Example is an example payload, as compact JSON: the one test events
	// send (for upload, the completed one).
	Example json.RawMessage `json:"example"`
}

// Info is what the delivery engine needs to route a validated event.
type Info struct {
	// Status is the upload payload's "status" (started, completed or
	// error), matched against a webhook's statuses option. It is "" for
	// every other type.
	Status string
}

// definition is what the schema file cannot say about a type: where its
// study id lives (the two naming styles of SPEC §2) and its options.
type definition struct {
	name       string
	studyField string
	options    []Option
}

// definitions lists the types in SPEC §2 order, which is the order Types
// returns and the API shows.
var definitions = []definition{
	{name: hookshot.EventUpload, studyField: "studyId", options: []Option{{
		Name:        OptionStatuses,
		Description: "Receive only uploads with these statuses; empty or absent means all of them.",
		Values:      []string{UploadStarted, UploadCompleted, UploadError},
	}}},
	{name: hookshot.EventRawProcessingComplete, studyField: "study_id"},
	{name: hookshot.EventDataRetrievalComplete, studyField: "study_id"},
	{name: hookshot.EventDailyStatisticsComplete, studyField: "studyId"},
	{name: hookshot.EventCP2DailyStatisticsComplete, studyField: "studyId"},
}

// entry is one compiled event type.
type entry struct {
	typ        EventType
	studyField string
	schema     *jsonschema.Schema
	// doc is the decoded schema document, consulted to phrase errors
	// (see condition).
	doc any
}

// Catalog holds the compiled event types. It is read-only after New, so
// one Catalog may be used from any number of goroutines.
type Catalog struct {
	entries []*entry
	byName  map[string]*entry
	// examples are the example payloads by file name (exampleFile).
	examples map[string][]byte
}

// schemaBase is where the compiler files the embedded schemas. The name
// never leaves the process and nothing is fetched from it: the compiler's
// loader refuses every URL, so a $ref can only point inside a schema.
const schemaBase = "https://hookshot.invalid/schemas/"

// New compiles the embedded schemas. It fails only if a schema file is
// missing or is not a valid draft 2020-12 schema, a bug that the package's
// tests catch before any release.
func New() (*Catalog, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// An empty scheme map loads nothing: no file or network reads, whatever
	// a schema says.
	c.UseLoader(jsonschema.SchemeURLLoader{})
	c.RegisterFormat(canonicalInteger)
	// Our schemas use no format but canonical-integer, so asserting
	// formats changes nothing else.
	c.AssertFormat()
	cat := &Catalog{byName: make(map[string]*entry, len(definitions))}
	for _, d := range definitions {
		e, err := compile(c, d)
		if err != nil {
			return nil, fmt.Errorf("catalog: event type %s: %w", d.name, err)
		}
		cat.entries = append(cat.entries, e)
		cat.byName[d.name] = e
	}
	if err := cat.loadExamples(); err != nil {
		return nil, err
	}
	return cat, nil
}

func compile(c *jsonschema.Compiler, d definition) (*entry, error) {
	file := "schemas/" + d.name + ".json"
	raw, err := schemaFiles.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	url := schemaBase + d.name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("adding %s: %w", file, err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", file, err)
	}
	var meta struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Description == "" {
		return nil, fmt.Errorf("%s needs a top-level description, shown to people choosing events", file)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("compacting %s: %w", file, err)
	}
	options := d.options
	if options == nil {
		options = []Option{}
	}
	return &entry{
		typ: EventType{
			Name:        d.name,
			Description: meta.Description,
			Schema:      compact.Bytes(),
			Options:     options,
		},
		studyField: d.studyField,
		schema:     schema,
		doc:        doc,
	}, nil
}

// Types returns every event type in a stable order (that of SPEC §2). The
// result is a copy the caller may keep or change.
func (c *Catalog) Types() []EventType {
	out := make([]EventType, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.typ.clone()
	}
	return out
}

// Lookup returns the event type with this name, a copy the caller may
// change. The validation pseudo-event is not in the catalog: it cannot be
// published or subscribed to.
func (c *Catalog) Lookup(name string) (EventType, bool) {
	e, ok := c.byName[name]
	if !ok {
		return EventType{}, false
	}
	return e.typ.clone(), true
}

func (t EventType) clone() EventType {
	t.Schema = slices.Clone(t.Schema)
	t.Example = slices.Clone(t.Example)
	opts := make([]Option, len(t.Options))
	for i, o := range t.Options {
		o.Values = slices.Clone(o.Values)
		opts[i] = o
	}
	t.Options = opts
	return t
}

// names lists the event types for messages.
func (c *Catalog) names() string {
	names := make([]string, len(c.entries))
	for i, e := range c.entries {
		names[i] = e.typ.Name
	}
	return strings.Join(names, ", ")
}

func (c *Catalog) unknown(eventType string) *hookshot.Error {
	msg := fmt.Sprintf("%q is not an event type; use one of %s", eventType, c.names())
	return hookshot.Invalid("Unknown event type: "+msg+".", hookshot.FieldError{Field: "type", Message: msg})
}

// Validate checks a payload published for a study: the type must be in the
// catalog, the payload must be a JSON object satisfying the type's schema,
// and the study id inside it must be studyID. Every refusal is a
// *hookshot.Error with code EInvalid whose FieldErrors name the offending
// fields in "payload.studyId" form. Validate never changes the payload;
// the caller delivers the bytes it was given.
func (c *Catalog) Validate(eventType string, studyID int64, payload []byte) (Info, error) {
	e, ok := c.byName[eventType]
	if !ok {
		return Info{}, c.unknown(eventType)
	}
	obj, bad := decodePayload(payload)
	if bad != nil {
		return Info{}, invalidPayload(fmt.Sprintf("The %s payload cannot be read", eventType), []hookshot.FieldError{*bad})
	}
	if err := e.schema.Validate(obj); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return Info{}, fmt.Errorf("catalog: validating a %s payload: %w", eventType, err)
		}
		lead := fmt.Sprintf("The %s payload does not match its schema (GET /v1/event-types shows it)", eventType)
		return Info{}, invalidPayload(lead, e.fieldErrors(verr, obj))
	}
	if err := checkStudy(e.studyField, obj[e.studyField], studyID); err != nil {
		return Info{}, err
	}
	var info Info
	if eventType == hookshot.EventUpload {
		// The schema has made status one of the enum strings.
		info.Status, _ = obj["status"].(string)
	}
	return info, nil
}

// maxSummarized bounds how many field errors the summary message repeats;
// all of them are in FieldErrors.
const maxSummarized = 5

// invalidPayload summarizes field errors after lead, so the message alone
// says what to fix.
func invalidPayload(lead string, fields []hookshot.FieldError) *hookshot.Error {
	parts := make([]string, 0, maxSummarized+1)
	for i, f := range fields {
		if i == maxSummarized {
			parts = append(parts, fmt.Sprintf("and %d more", len(fields)-maxSummarized))
			break
		}
		parts = append(parts, f.Field+" "+f.Message)
	}
	return hookshot.Invalid(lead+": "+strings.Join(parts, "; ")+".", fields...)
}

// checkStudy compares the payload's study id, which the schema has already
// made a canonical integer or string of digits, with the study of the URL.
func checkStudy(field string, v any, studyID int64) error {
	var got big.Rat
	var shown string
	switch v := v.(type) {
	case json.Number:
		shown = v.String()
		if _, ok := got.SetString(shown); !ok {
			return fmt.Errorf("catalog: %s %q passed the schema but is not a number", field, shown)
		}
	case string:
		shown = v
		if _, ok := got.SetString(v); !ok {
			return fmt.Errorf("catalog: %s %q passed the schema but is not a number", field, shown)
		}
	default:
		return fmt.Errorf("catalog: %s passed the schema as a %T", field, v)
	}
	if got.Cmp(new(big.Rat).SetInt64(studyID)) == 0 {
		return nil
	}
	msg := fmt.Sprintf("is %s, but the event is published for study %d; they must be the same", shown, studyID)
	return hookshot.Invalid(
		fmt.Sprintf("The study ids differ: payload.%s is %s, but the event is published for study %d (the study in the URL); they must be the same.", field, shown, studyID),
		hookshot.FieldError{Field: "payload." + field, Message: msg})
}

// ValidateOptions checks the options a webhook sets for one event type:
// only upload has options, its statuses must each be an upload status, and
// none may repeat. Refusals are *hookshot.Error with code EInvalid whose
// message stands alone, since callers show it under the type's name.
func (c *Catalog) ValidateOptions(eventType string, opts hookshot.EventOptions) error {
	e, ok := c.byName[eventType]
	if !ok {
		return c.unknown(eventType)
	}
	if len(opts.Statuses) == 0 {
		return nil
	}
	var allowed []string
	for _, o := range e.typ.Options {
		if o.Name == OptionStatuses {
			allowed = o.Values
		}
	}
	if allowed == nil {
		msg := fmt.Sprintf("%s has no statuses option; only upload events can be narrowed by status", eventType)
		return hookshot.Invalid(msg+".", hookshot.FieldError{Field: OptionStatuses, Message: msg})
	}
	var fields []hookshot.FieldError
	seen := make(map[string]bool, len(opts.Statuses))
	for i, s := range opts.Statuses {
		field := fmt.Sprintf("%s[%d]", OptionStatuses, i)
		switch {
		case !slices.Contains(allowed, s):
			fields = append(fields, hookshot.FieldError{Field: field, Message: fmt.Sprintf("%q is not a status of %s events; use %s", s, eventType, strings.Join(allowed, ", "))})
		case seen[s]:
			fields = append(fields, hookshot.FieldError{Field: field, Message: fmt.Sprintf("%q is listed more than once", s)})
		}
		seen[s] = true
	}
	if len(fields) == 0 {
		return nil
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + " " + f.Message
	}
	return hookshot.Invalid(strings.Join(parts, "; "), fields...)
}
