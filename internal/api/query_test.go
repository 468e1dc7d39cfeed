package api

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hookshot/hookshot"
)

func TestCheckQuery(t *testing.T) {
	allowed := []string{"status", "limit"}
	for _, tc := range []struct {
		name, raw, field string // field "" means accepted
	}{
		{"empty", "", ""},
		{"known", "status=failed&limit=5", ""},
		{"known but empty", "status=", ""},
		{"unknown", "status=failed&stauts=failed", "stauts"},
		{"repeated", "limit=1&limit=2", "limit"},
		{"no value", "verbose", "verbose"},
		{"bad escape", "status=%zz", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkQuery(tc.raw, allowed)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("checkQuery(%q) = %v, want nil", tc.raw, err)
			case tc.field == "":
			case hookshot.ErrorCode(err) != hookshot.EMalformed:
				t.Fatalf("checkQuery(%q) = %v, want EMalformed", tc.raw, err)
			case tc.field != "-":
				var e *hookshot.Error
				if !errors.As(err, &e) || len(e.FieldErrors) != 1 || e.FieldErrors[0].Field != tc.field {
					t.Fatalf("checkQuery(%q) = %v, want it to name %s", tc.raw, err, tc.field)
				}
			}
		})
	}
	if err := checkQuery("a=1", nil); err == nil || hookshot.ErrorMessage(err) != `The query parameter "a" is not known here; this endpoint takes no query parameters.` {
		t.Errorf("checkQuery on an endpoint without parameters = %v", err)
	}
}

// The payload member is the published bytes, not a re-encoding.
func TestWithRawField(t *testing.T) {
	raw := []byte("{\r\n\t\"b\" : 1,\"a\":[1, 2],\"a\": \"<&>\"}\n")
	got, err := withRawField(struct {
		ID   string `json:"id"`
		Note string `json:"note"`
	}{"x", "<&>"}, "payload", raw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"x","note":"<&>","payload":` + string(raw) + "}\n"
	if string(got) != want {
		t.Fatalf("withRawField =\n%q\nwant\n%q", got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("withRawField made invalid JSON: %q", got)
	}
	if got, _ := withRawField(struct{}{}, "payload", []byte(`{}`)); string(got) != "{\"payload\":{}}\n" {
		t.Fatalf("withRawField of an empty struct = %q", got)
	}
}
