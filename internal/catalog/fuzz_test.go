package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/hookshot/hookshot"
)

// FuzzValidate feeds Validate untrusted payloads. It must never panic, must
// refuse only with EInvalid errors that name a field, and must accept only
// payloads whose study id, read independently with encoding/json, is the
// study published to, written canonically.
func FuzzValidate(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.eventType, fx.studyID, fx.payload)
		f.Add(fx.eventType, fx.studyID+1, fx.payload)
	}
	f.Add("upload", int64(189), []byte(`{"status":"error","uploadId":1,"subjectId":"2","studyId":189.0,"message":"x"}`))
	f.Add("upload", int64(189), []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"189","studyId":"190"}`))
	f.Add("upload", int64(0), []byte(`[]`))
	f.Add("nope", int64(1), []byte(`{}`))
	c := newCatalog(f)
	f.Fuzz(func(t *testing.T, eventType string, studyID int64, payload []byte) {
		info, err := c.Validate(eventType, studyID, payload)
		if err != nil {
			var he *hookshot.Error
			if !errors.As(err, &he) || he.Code != hookshot.EInvalid {
				t.Fatalf("error %v (%T), want a *hookshot.Error with code %s", err, err, hookshot.EInvalid)
			}
			if he.Message == "" || len(he.FieldErrors) == 0 {
				t.Fatalf("refusal without a reason: %+v", he)
			}
			return
		}
		field, ok := studyFields[eventType]
		if !ok {
			t.Fatalf("accepted unknown type %q", eventType)
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("accepted a payload encoding/json cannot read: %v", err)
		}
		// Receivers get the id as written, so it must be written as the
		// study's number is, not merely equal it (SPEC §2).
		var got string
		switch v := obj[field].(type) {
		case json.Number:
			got = v.String()
		case string:
			got = v
		}
		if got != strconv.FormatInt(studyID, 10) {
			t.Fatalf("accepted for study %d a payload whose %s is %v", studyID, field, obj[field])
		}
		if eventType == hookshot.EventUpload {
			if !slices.Contains([]string{"started", "completed", "error"}, info.Status) || obj["status"] != info.Status {
				t.Fatalf("Status %q for payload status %v", info.Status, obj["status"])
			}
		} else if info.Status != "" {
			t.Fatalf("Status %q for a %s event", info.Status, eventType)
		}
	})
}
