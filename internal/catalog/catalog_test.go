package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fixtureDir holds the repository's copy of shared/fixtures/events (see
// ExampleFiles), so tests and the fuzz seed corpus do not depend on a
// directory outside the module; TestExamplesMatchShared keeps it honest.
const fixtureDir = "examples"

// sharedFixtureDir is where the product's fixtures live when the
// repository sits beside the shared directory, as on developer machines
// and in CI.
const sharedFixtureDir = "../../../shared/fixtures/events"

// studyFields says where each type keeps its study id. It restates SPEC §2
// rather than reading the package's table, so a slip there shows up here.
var studyFields = map[string]string{
	hookshot.EventUpload:                     "studyId",
	hookshot.EventRawProcessingComplete:      "study_id",
	hookshot.EventDataRetrievalComplete:      "study_id",
	hookshot.EventDailyStatisticsComplete:    "studyId",
	hookshot.EventCP2DailyStatisticsComplete: "studyId",
}

func newCatalog(tb testing.TB) *Catalog {
	tb.Helper()
	c, err := New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

type fixture struct {
	file      string
	eventType string
	payload   []byte
	studyID   int64
}

// fixtures reads the repository's examples. A file is named for its event type,
// optionally with a "-variant" suffix (upload-error.json).
func fixtures(tb testing.TB) []fixture {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fixtures in %s (%v)", fixtureDir, err)
	}
	var out []fixture
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		eventType, _, _ := strings.Cut(name, "-")
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		field, ok := studyFields[eventType]
		if !ok {
			tb.Fatalf("%s: no event type %q", p, eventType)
		}
		var id json.Number
		if err := json.Unmarshal(bytes.Trim(obj[field], `"`), &id); err != nil {
			tb.Fatalf("%s: %s: %v", p, field, err)
		}
		n, err := id.Int64()
		if err != nil {
			tb.Fatalf("%s: %s: %v", p, field, err)
		}
		out = append(out, fixture{file: filepath.Base(p), eventType: eventType, payload: b, studyID: n})
	}
	return out
}

func TestFixturesAreAccepted(t *testing.T) {
	c := newCatalog(t)
	covered := map[string]bool{}
	for _, f := range fixtures(t) {
		t.Run(f.file, func(t *testing.T) {
			info, err := c.Validate(f.eventType, f.studyID, f.payload)
			if err != nil {
				t.Fatalf("Validate: %v %+v", err, fieldErrors(err))
			}
			var want struct{ Status string }
			if f.eventType == hookshot.EventUpload {
				if err := json.Unmarshal(f.payload, &want); err != nil {
					t.Fatal(err)
				}
			}
			if info.Status != want.Status {
				t.Fatalf("Status %q, want %q", info.Status, want.Status)
			}
		})
		covered[f.eventType] = true
	}
	for _, ty := range c.Types() {
		if !covered[ty.Name] {
			t.Errorf("no fixture of event type %s", ty.Name)
		}
	}
}

// The examples must be the product's fixtures, byte for byte. Skipped where
// the shared directory is absent (a clone with nothing beside it).
func TestExamplesMatchShared(t *testing.T) {
	shared, err := filepath.Glob(filepath.Join(sharedFixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(shared) == 0 {
		t.Skipf("%s is not here; nothing to compare the copies with", sharedFixtureDir)
	}
	copies, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	base := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = filepath.Base(p)
		}
		return out
	}
	if !slices.Equal(base(shared), base(copies)) {
		t.Fatalf("fixture files differ: shared %v, examples %v; copy %s into %s", base(shared), base(copies), sharedFixtureDir, fixtureDir)
	}
	for _, p := range shared {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(fixtureDir, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s; copy it again", filepath.Join(fixtureDir, filepath.Base(p)), p)
		}
	}
}

// payload builds a payload from a fixture with some members changed:
// a nil value removes the member, and a json.RawMessage is used as is.
func payload(tb testing.TB, file string, changes map[string]any) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, file))
	if err != nil {
		tb.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		tb.Fatal(err)
	}
	for k, v := range changes {
		if v == nil {
			delete(obj, k)
			continue
		}
		obj[k] = v
	}
	out, err := json.Marshal(obj)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// null stands for a JSON null in payload changes (nil removes a member).
var null = json.RawMessage("null")

func TestValidateAccepts(t *testing.T) {
	c := newCatalog(t)
	cases := []struct {
		name      string
		eventType string
		studyID   int64
		payload   []byte
		status    string
	}{
		{"upload with integer ids", "upload", 189, []byte(`{"status":"started","uploadId":85045,"subjectId":44732,"studyId":189}`), "started"},
		{"upload study id zero", "upload", 0, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"0"}`), "started"},
		{"upload largest study id", "upload", 9223372036854775807, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"9223372036854775807"}`), "started"},
		{"upload with extra fields", "upload", 189, payload(t, "upload-started.json", map[string]any{"extra": map[string]any{"deep": []any{1, "x", nil}}, "site": "A"}), "started"},
		{"completed without epochs", "upload", 189, payload(t, "upload-completed.json", map[string]any{"firstEpochUTC": nil, "lastEpochUTC": nil, "firstEpochSubjectTZ": nil, "lastEpochSubjectTZ": nil}), "completed"},
		{"completed with null epochs", "upload", 189, payload(t, "upload-completed.json", map[string]any{"firstEpochUTC": null}), "completed"},
		{"started with a null message", "upload", 189, payload(t, "upload-started.json", map[string]any{"message": null}), "started"},
		{"upload with surrounding white space", "upload", 189, []byte(" \n\t{\"status\":\"started\",\"uploadId\":\"1\",\"subjectId\":\"2\",\"studyId\":\"189\"}\n"), "started"},
		{"upload with non-ASCII text", "upload", 189, []byte(`{"status":"error","message":"échec à l'étape 2 ✗","uploadId":"1","subjectId":"2","studyId":"189"}`), "error"},
		{"raw with an error", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"status": "Error", "error_message": "corrupt file", "min_event_timestamp": null, "max_event_timestamp": null}), ""},
		{"raw with string ids", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"study_id": "1064", "subject_id": "19525"}), ""},
		{"raw without error_message", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"error_message": nil}), ""},
		{"data retrieval with no files", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"files": []any{}}), ""},
		{"data retrieval with an error message", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"request_status": "Error", "error_message": "no data", "completed_at_utc": null}), ""},
		{"daily statistics without optional sections", "daily_statistics_complete", 234, payload(t, "daily_statistics_complete.json", map[string]any{"freedsonAggregations": nil, "staudenmayerAggregations": nil, "mavmAggregation": nil}), ""},
		{"cp2 statistics with a null statistic", "cp2_daily_statistics_complete", 34583, payload(t, "cp2_daily_statistics_complete.json", map[string]any{"mets": null}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := c.Validate(tc.eventType, tc.studyID, tc.payload)
			if err != nil {
				t.Fatalf("Validate(%s): %v %+v", tc.payload, err, fieldErrors(err))
			}
			if info.Status != tc.status {
				t.Fatalf("Status %q, want %q", info.Status, tc.status)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	c := newCatalog(t)
	upload := func(changes map[string]any) []byte { return payload(t, "upload-started.json", changes) }
	cases := []struct {
		name      string
		eventType string
		studyID   int64
		payload   []byte
		field     string   // a FieldError must name this field
		mention   []string // and its message must contain each of these
	}{
		{"unknown event type", "uploaded", 189, upload(nil), "type", []string{`"uploaded"`, "upload, raw_processing_complete, data_retrieval_complete, daily_statistics_complete, cp2_daily_statistics_complete"}},
		{"validation is not publishable", "validation", 189, upload(nil), "type", []string{"not an event type"}},
		{"empty payload", "upload", 189, nil, "payload", []string{"required"}},
		{"white space payload", "upload", 189, []byte("  "), "payload", []string{"required"}},
		{"null payload", "upload", 189, []byte("null"), "payload", []string{"JSON object", "null"}},
		{"array payload", "upload", 189, []byte(`[{"studyId":"189"}]`), "payload", []string{"JSON object", "array"}},
		{"string payload", "upload", 189, []byte(`"hello"`), "payload", []string{"JSON object"}},
		{"malformed JSON", "upload", 189, []byte(`{"status": "started",`), "payload", []string{"not valid JSON"}},
		{"bad JSON inside", "upload", 189, []byte(`{"status": started}`), "payload", []string{"not valid JSON"}},
		{"trailing data", "upload", 189, append(upload(nil), `{}`...), "payload", []string{"nothing after it"}},
		{"invalid UTF-8", "upload", 189, []byte("{\"status\":\"started\",\"message\":\"\xff\",\"uploadId\":\"1\",\"subjectId\":\"2\",\"studyId\":\"189\"}"), "payload", []string{"UTF-8"}},
		{"duplicate study id", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"190","studyId":"189"}`), "payload.studyId", []string{"more than once"}},
		{"duplicate nested member", "data_retrieval_complete", 1064, []byte(`{"files":[{"file_name":"a","file_name":"b"}]}`), "payload.files[0].file_name", []string{"more than once"}},
		{"too deep", "upload", 189, []byte(`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), "payload.x" + strings.Repeat("[0]", maxDepth-1), []string{"deeper than"}},
		{"number too large", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"189","n":1e400}`), "payload.n", []string{"64-bit"}},
		{"exponent too large", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":1e-999999}`), "payload.studyId", []string{"exponent"}},
		{"bad status", "upload", 189, upload(map[string]any{"status": "finished"}), "payload.status", []string{`"started", "completed", "error"`, `got "finished"`}},
		{"status in the wrong case", "upload", 189, upload(map[string]any{"status": "Started"}), "payload.status", []string{`got "Started"`}},
		{"status not a string", "upload", 189, upload(map[string]any{"status": 1}), "payload.status", []string{"one of"}},
		{"missing status", "upload", 189, upload(map[string]any{"status": nil}), "payload.status", []string{"is required"}},
		{"missing uploadId", "upload", 189, upload(map[string]any{"uploadId": nil}), "payload.uploadId", []string{"is required"}},
		{"missing subjectId", "upload", 189, upload(map[string]any{"subjectId": nil}), "payload.subjectId", []string{"is required"}},
		{"missing studyId", "upload", 189, upload(map[string]any{"studyId": nil}), "payload.studyId", []string{"is required"}},
		{"id with letters", "upload", 189, upload(map[string]any{"uploadId": "85045a"}), "payload.uploadId", []string{"string of digits", `got "85045a"`}},
		{"negative id", "upload", 189, upload(map[string]any{"subjectId": -3}), "payload.subjectId", []string{"non-negative", "got -3"}},
		{"negative id as a string", "upload", 189, upload(map[string]any{"subjectId": "-3"}), "payload.subjectId", []string{"string of digits"}},
		{"fractional id", "upload", 189, upload(map[string]any{"uploadId": 1.5}), "payload.uploadId", []string{"integer", "got 1.5"}},
		{"empty id", "upload", 189, upload(map[string]any{"uploadId": ""}), "payload.uploadId", []string{"string of digits"}},
		{"id with a newline", "upload", 189, upload(map[string]any{"uploadId": "85045\n"}), "payload.uploadId", []string{"string of digits"}},
		{"id as a boolean", "upload", 189, upload(map[string]any{"studyId": true}), "payload.studyId", []string{"got true"}},
		{"error without message", "upload", 189, payload(t, "upload-error.json", map[string]any{"message": nil}), "payload.message", []string{`required when status is "error"`}},
		{"error with a null message", "upload", 189, payload(t, "upload-error.json", map[string]any{"message": null}), "payload.message", []string{"must be a string"}},
		{"error with an empty message", "upload", 189, payload(t, "upload-error.json", map[string]any{"message": ""}), "payload.message", []string{"must not be empty"}},
		{"epoch not a string", "upload", 189, payload(t, "upload-completed.json", map[string]any{"firstEpochUTC": 5}), "payload.firstEpochUTC", []string{"a string or null", "got 5"}},
		{"raw bad status", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"status": "completed"}), "payload.status", []string{`"Completed", "Error"`}},
		{"raw missing subject", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"subject_id": nil}), "payload.subject_id", []string{"is required"}},
		{"raw error_message a number", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"error_message": 3}), "payload.error_message", []string{"a string or null"}},
		{"data retrieval files not an array", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"files": map[string]any{}}), "payload.files", []string{"an array", "got an object"}},
		{"data retrieval file not an object", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"files": []any{"x.avro"}}), "payload.files[0]", []string{"an object"}},
		{"data retrieval file without a name", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"files": []any{map[string]any{"monitor_serial": nil, "file_type": "avro", "min_event_timestamp": nil, "max_event_timestamp": nil, "file_size": 1, "file_index": 0}}}), "payload.files[0].file_name", []string{"is required"}},
		{"data retrieval negative file size", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"files": []any{map[string]any{"monitor_serial": nil, "file_type": "avro", "min_event_timestamp": nil, "max_event_timestamp": nil, "file_size": -1, "file_index": 0, "file_name": "f"}}}), "payload.files[0].file_size", []string{"at least 0", "got -1"}},
		{"daily statistics serials not strings", "daily_statistics_complete", 234, payload(t, "daily_statistics_complete.json", map[string]any{"activityMonitorSerials": []any{1}}), "payload.activityMonitorSerials[0]", []string{"a string"}},
		{"daily statistics missing epochAggregation", "daily_statistics_complete", 234, payload(t, "daily_statistics_complete.json", map[string]any{"epochAggregation": nil}), "payload.epochAggregation", []string{"is required"}},
		{"cp2 bout without count", "cp2_daily_statistics_complete", 34583, payload(t, "cp2_daily_statistics_complete.json", map[string]any{"bouts": []any{map[string]any{"name": "10 minutes or more"}}}), "payload.bouts[0].count", []string{"is required"}},
		{"cp2 statistic a string", "cp2_daily_statistics_complete", 34583, payload(t, "cp2_daily_statistics_complete.json", map[string]any{"mets": "1.7"}), "payload.mets", []string{"a number or null"}},
		{"odd member name in path", "cp2_daily_statistics_complete", 34583, payload(t, "cp2_daily_statistics_complete.json", map[string]any{"dayStatId": nil}), "payload.dayStatId", []string{"is required"}},
		// The study check.
		{"upload for another study", "upload", 190, upload(nil), "payload.studyId", []string{"189", "190"}},
		{"upload study id beyond int64", "upload", 189, upload(map[string]any{"studyId": "99999999999999999999999"}), "payload.studyId", []string{"99999999999999999999999", "189"}},
		{"raw for another study", "raw_processing_complete", 1065, payload(t, "raw_processing_complete.json", nil), "payload.study_id", []string{"1064", "1065"}},
		{"data retrieval for another study", "data_retrieval_complete", 1, payload(t, "data_retrieval_complete.json", nil), "payload.study_id", []string{"1064", "study 1"}},
		{"daily statistics for another study", "daily_statistics_complete", 235, payload(t, "daily_statistics_complete.json", nil), "payload.studyId", []string{"234", "235"}},
		{"cp2 statistics for another study", "cp2_daily_statistics_complete", -34583, payload(t, "cp2_daily_statistics_complete.json", nil), "payload.studyId", []string{"34583", "-34583"}},
		{"study id 189.5", "upload", 189, upload(map[string]any{"studyId": 189.5}), "payload.studyId", []string{"integer"}},
		// Receivers get the bytes as written: an id is written one way.
		{"study id with a leading zero", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"0189"}`), "payload.studyId", []string{`"0189"`, "canonically"}},
		{"study id as 189.0", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":189.0}`), "payload.studyId", []string{"189.0", "canonically"}},
		{"study id as 1.89e2", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":1.89e2}`), "payload.studyId", []string{"1.89e2", "canonically"}},
		{"study id as 189E0", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":189E0}`), "payload.studyId", []string{"189E0"}},
		{"study id as -0", "upload", 0, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":-0}`), "payload.studyId", []string{"-0"}},
		{"study id as a signed string", "upload", 189, []byte(`{"status":"started","uploadId":"1","subjectId":"2","studyId":"+189"}`), "payload.studyId", []string{`"+189"`}},
		{"upload id with a leading zero", "upload", 189, []byte(`{"status":"started","uploadId":"01","subjectId":"2","studyId":189}`), "payload.uploadId", []string{`"01"`}},
		{"raw study id as 1064.0", "raw_processing_complete", 1064, payload(t, "raw_processing_complete.json", map[string]any{"study_id": json.Number("1064.0")}), "payload.study_id", []string{"1064.0"}},
		{"data retrieval study id 01064", "data_retrieval_complete", 1064, payload(t, "data_retrieval_complete.json", map[string]any{"study_id": "01064"}), "payload.study_id", []string{`"01064"`}},
		{"daily statistics study id 2.34e2", "daily_statistics_complete", 234, payload(t, "daily_statistics_complete.json", map[string]any{"studyId": json.Number("2.34e2")}), "payload.studyId", []string{"2.34e2"}},
		{"cp2 statistics study id 034583", "cp2_daily_statistics_complete", 34583, payload(t, "cp2_daily_statistics_complete.json", map[string]any{"studyId": "034583"}), "payload.studyId", []string{`"034583"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := c.Validate(tc.eventType, tc.studyID, tc.payload)
			if err == nil {
				t.Fatalf("Validate(%s) accepted it", tc.payload)
			}
			if info != (Info{}) {
				t.Errorf("Info %+v with an error", info)
			}
			var he *hookshot.Error
			if !errors.As(err, &he) || he.Code != hookshot.EInvalid {
				t.Fatalf("error %v (%T), want a *hookshot.Error with code %s", err, err, hookshot.EInvalid)
			}
			i := slices.IndexFunc(he.FieldErrors, func(f hookshot.FieldError) bool { return f.Field == tc.field })
			if i < 0 {
				t.Fatalf("no field error for %s in %+v", tc.field, he.FieldErrors)
			}
			for _, m := range tc.mention {
				if !strings.Contains(he.FieldErrors[i].Message, m) {
					t.Errorf("field message %q does not mention %q", he.FieldErrors[i].Message, m)
				}
			}
			// The message stands alone for callers that show only it.
			if !strings.Contains(he.Message, tc.field) && tc.field != "type" {
				t.Errorf("message %q does not name %s", he.Message, tc.field)
			}
			if !strings.HasSuffix(he.Message, ".") || he.Message[0] < 'A' || he.Message[0] > 'Z' {
				t.Errorf("message %q is not a sentence", he.Message)
			}
		})
	}
}

// All problems are reported at once, so a producer fixes them in one go,
// and the summary stays short however many there are.
func TestValidateReportsEveryProblem(t *testing.T) {
	c := newCatalog(t)
	_, err := c.Validate("cp2_daily_statistics_complete", 1, []byte(`{"studyId":"x","bouts":[{"name":1}]}`))
	fields := fieldErrors(err)
	var names []string
	for _, f := range fields {
		names = append(names, f.Field)
	}
	want := []string{
		"payload.bouts[0].count", "payload.bouts[0].name", "payload.cutpoints", "payload.date",
		"payload.dayStatId", "payload.siteId", "payload.studyId", "payload.subjectId", "payload.subjectIdentifier",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("fields %v, want %v", names, want)
	}
	if msg := hookshot.ErrorMessage(err); !strings.Contains(msg, "and 4 more") {
		t.Fatalf("message %q does not cut the list short", msg)
	}
}

func TestUnknownTypeNamesTheKnownOnes(t *testing.T) {
	c := newCatalog(t)
	_, err := c.Validate("uplod", 1, []byte(`{}`))
	msg := hookshot.ErrorMessage(err)
	for _, ty := range c.Types() {
		if !strings.Contains(msg, ty.Name) {
			t.Errorf("message %q does not name %s", msg, ty.Name)
		}
	}
}

func TestValidateOptions(t *testing.T) {
	c := newCatalog(t)
	cases := []struct {
		name      string
		eventType string
		statuses  []string
		field     string // "" when the options are fine
		mention   string
	}{
		{"no statuses", "upload", nil, "", ""},
		{"empty statuses", "upload", []string{}, "", ""},
		{"one status", "upload", []string{"error"}, "", ""},
		{"every status", "upload", []string{"completed", "started", "error"}, "", ""},
		{"no options on another type", "raw_processing_complete", nil, "", ""},
		{"unknown status", "upload", []string{"completed", "done"}, "statuses[1]", `"done" is not a status of upload events; use started, completed, error`},
		{"status in the wrong case", "upload", []string{"Completed"}, "statuses[0]", "not a status of upload events"},
		{"repeated status", "upload", []string{"error", "completed", "error"}, "statuses[2]", `"error" is listed more than once`},
		{"statuses on raw", "raw_processing_complete", []string{"Completed"}, "statuses", "only upload"},
		{"statuses on cp2", "cp2_daily_statistics_complete", []string{"started"}, "statuses", "only upload"},
		{"unknown type", "uploads", nil, "type", "use one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.ValidateOptions(tc.eventType, hookshot.EventOptions{Statuses: tc.statuses})
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateOptions: %v", err)
				}
				return
			}
			if hookshot.ErrorCode(err) != hookshot.EInvalid {
				t.Fatalf("error %v, want code %s", err, hookshot.EInvalid)
			}
			i := slices.IndexFunc(fieldErrors(err), func(f hookshot.FieldError) bool { return f.Field == tc.field })
			if i < 0 {
				t.Fatalf("no field error for %s in %+v", tc.field, fieldErrors(err))
			}
			if msg := hookshot.ErrorMessage(err); !strings.Contains(msg, tc.mention) {
				t.Fatalf("message %q does not mention %q", msg, tc.mention)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	c := newCatalog(t)
	var names []string
	for _, ty := range c.Types() {
		names = append(names, ty.Name)
		if ty.Description == "" || strings.Contains(ty.Description, "\n") {
			t.Errorf("%s: description %q is not one line", ty.Name, ty.Description)
		}
		if ty.Options == nil {
			t.Errorf("%s: nil options would show as null", ty.Name)
		}
		got, ok := c.Lookup(ty.Name)
		if !ok || got.Name != ty.Name || !bytes.Equal(got.Schema, ty.Schema) {
			t.Errorf("Lookup(%s) = %+v, %v", ty.Name, got.Name, ok)
		}
	}
	want := []string{
		hookshot.EventUpload, hookshot.EventRawProcessingComplete, hookshot.EventDataRetrievalComplete,
		hookshot.EventDailyStatisticsComplete, hookshot.EventCP2DailyStatisticsComplete,
	}
	if !slices.Equal(names, want) {
		t.Fatalf("Types() = %v, want %v", names, want)
	}
	for _, name := range []string{"", "validation", "Upload", "upload "} {
		if _, ok := c.Lookup(name); ok {
			t.Errorf("Lookup(%q) found a type", name)
		}
	}
	upload, _ := c.Lookup("upload")
	if len(upload.Options) != 1 || upload.Options[0].Name != "statuses" ||
		!slices.Equal(upload.Options[0].Values, []string{"started", "completed", "error"}) {
		t.Fatalf("upload options %+v", upload.Options)
	}
	for _, ty := range c.Types()[1:] {
		if len(ty.Options) != 0 {
			t.Errorf("%s has options %+v", ty.Name, ty.Options)
		}
	}
}

// Callers get copies: changing one cannot change the catalog.
func TestTypesAreCopies(t *testing.T) {
	c := newCatalog(t)
	ty, _ := c.Lookup("upload")
	ty.Options[0].Values[0] = "changed"
	ty.Schema[0] = 'X'
	all := c.Types()
	all[0].Options[0].Values[1] = "changed"
	again, _ := c.Lookup("upload")
	if again.Options[0].Values[0] != "started" || again.Options[0].Values[1] != "completed" || again.Schema[0] != '{' {
		t.Fatalf("the catalog changed through a copy: %+v", again.Options)
	}
}

// The statuses option offers exactly the statuses the schema allows.
func TestStatusesOptionMatchesSchema(t *testing.T) {
	c := newCatalog(t)
	ty, _ := c.Lookup("upload")
	var schema struct {
		Properties struct {
			Status struct {
				Enum []string `json:"enum"`
			} `json:"status"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(ty.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(schema.Properties.Status.Enum, ty.Options[0].Values) {
		t.Fatalf("schema enum %v, option values %v", schema.Properties.Status.Enum, ty.Options[0].Values)
	}
}

// The published schemas are valid JSON and self-contained draft 2020-12
// schemas: a fresh compiler that loads nothing else compiles each one, and
// the result accepts the fixtures, so what producers download is what we
// enforce.
func TestPublishedSchemas(t *testing.T) {
	c := newCatalog(t)
	byType := map[string][]fixture{}
	for _, f := range fixtures(t) {
		byType[f.eventType] = append(byType[f.eventType], f)
	}
	for _, ty := range c.Types() {
		t.Run(ty.Name, func(t *testing.T) {
			if !json.Valid(ty.Schema) {
				t.Fatalf("schema is not valid JSON: %s", ty.Schema)
			}
			var meta struct {
				Schema      string `json:"$schema"`
				Title       string `json:"title"`
				Description string `json:"description"`
				Type        string `json:"type"`
			}
			if err := json.Unmarshal(ty.Schema, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Schema != "https://json-schema.org/draft/2020-12/schema" || meta.Title != ty.Name ||
				meta.Description != ty.Description || meta.Type != "object" {
				t.Fatalf("schema header %+v", meta)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ty.Schema))
			if err != nil {
				t.Fatal(err)
			}
			comp := jsonschema.NewCompiler()
			comp.UseLoader(jsonschema.SchemeURLLoader{})
			if err := comp.AddResource("urn:test:"+ty.Name, doc); err != nil {
				t.Fatal(err)
			}
			schema, err := comp.Compile("urn:test:" + ty.Name)
			if err != nil {
				t.Fatalf("the published schema does not compile on its own: %v", err)
			}
			for _, f := range byType[ty.Name] {
				v, err := jsonschema.UnmarshalJSON(bytes.NewReader(f.payload))
				if err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(v); err != nil {
					t.Errorf("%s: %v", f.file, err)
				}
			}
		})
	}
}

// GET /v1/event-types renders EventType as is.
func TestEventTypeJSON(t *testing.T) {
	c := newCatalog(t)
	b, err := json.Marshal(c.Types())
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, ty := range got {
		for _, k := range []string{"name", "description", "schema", "options"} {
			if _, ok := ty[k]; !ok {
				t.Errorf("%s has no %q: %s", ty["name"], k, b)
			}
		}
	}
	if want := `[{"name":"statuses","description":"Receive only uploads with these statuses; empty or absent means all of them.","values":["started","completed","error"]}]`; string(got[0]["options"]) != want {
		t.Errorf("upload options %s, want %s", got[0]["options"], want)
	}
	if string(got[1]["options"]) != "[]" {
		t.Errorf("raw options %s, want []", got[1]["options"])
	}
}

// One Catalog serves every request at once (run with -race).
func TestValidateConcurrently(t *testing.T) {
	c := newCatalog(t)
	fs := fixtures(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, f := range fs {
				if _, err := c.Validate(f.eventType, f.studyID, f.payload); err != nil {
					t.Errorf("%s: %v", f.file, err)
				}
				if _, err := c.Validate(f.eventType, f.studyID+1, f.payload); err == nil {
					t.Errorf("%s: accepted for another study", f.file)
				}
			}
		})
	}
	wg.Wait()
}

func fieldErrors(err error) []hookshot.FieldError {
	var he *hookshot.Error
	if errors.As(err, &he) {
		return he.FieldErrors
	}
	return nil
}

func BenchmarkValidate(b *testing.B) {
	c := newCatalog(b)
	for _, f := range fixtures(b) {
		b.Run(f.file, func(b *testing.B) {
			b.SetBytes(int64(len(f.payload)))
			for b.Loop() {
				if _, err := c.Validate(f.eventType, f.studyID, f.payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
