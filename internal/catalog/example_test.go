package catalog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookshot/hookshot"
)

func TestExampleSetsTheStudyAndKeepsTheRest(t *testing.T) {
	c := newCatalog(t)
	cases := []struct {
		name, eventType, status, file, old, new string
	}{
		{"upload default is completed", hookshot.EventUpload, "", "upload-completed.json", `"studyId": "189"`, `"studyId": "7"`},
		{"upload started", hookshot.EventUpload, "started", "upload-started.json", `"studyId": "189"`, `"studyId": "7"`},
		{"upload error", hookshot.EventUpload, "error", "upload-error.json", `"studyId": "189"`, `"studyId": "7"`},
		{"number study id", hookshot.EventRawProcessingComplete, "", "raw_processing_complete.json", `"study_id": 1064`, `"study_id": 7`},
		{"camel case number", hookshot.EventCP2DailyStatisticsComplete, "", "cp2_daily_statistics_complete.json", `"studyId": 34583`, `"studyId": 7`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Example(tc.eventType, tc.status, 7)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := os.ReadFile(filepath.Join(fixtureDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.Replace(orig, []byte(tc.old), []byte(tc.new), 1)
			if bytes.Equal(want, orig) {
				t.Fatalf("%s does not contain %s", tc.file, tc.old)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Example = %s\nwant %s", got, want)
			}
			if _, err := c.Validate(tc.eventType, 7, got); err != nil {
				t.Fatalf("the example for study 7 does not validate for study 7: %v", err)
			}
		})
	}
}

func TestExampleRefusesWhatItCannotSend(t *testing.T) {
	c := newCatalog(t)
	cases := []struct{ name, eventType, status, field string }{
		{"unknown type", "nope", "", "type"},
		{"unknown upload status", hookshot.EventUpload, "finished", "status"},
		{"status of a type without statuses", hookshot.EventRawProcessingComplete, "completed", "status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Example(tc.eventType, tc.status, 7)
			var e *hookshot.Error
			if !asError(err, &e) || e.Code != hookshot.EInvalid || len(e.FieldErrors) != 1 || e.FieldErrors[0].Field != tc.field {
				t.Fatalf("Example(%q, %q) = %v, want EInvalid naming %s", tc.eventType, tc.status, err, tc.field)
			}
		})
	}
}

func TestTypesCarryTheirExample(t *testing.T) {
	for _, typ := range newCatalog(t).Types() {
		var obj map[string]any
		if err := json.Unmarshal(typ.Example, &obj); err != nil || len(obj) == 0 {
			t.Errorf("%s: example %q is not a JSON object: %v", typ.Name, typ.Example, err)
		}
	}
}

func asError(err error, target **hookshot.Error) bool {
	e, ok := err.(*hookshot.Error)
	*target = e
	return ok
}
