package catalog

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckNumber(t *testing.T) {
	cases := []struct {
		number string
		ok     bool
	}{
		{"0", true},
		{"-0", true},
		{"189", true},
		{"1296.0", true},
		{"1.7976931348623157e308", true},
		{"4.9e-324", true},
		{"1e-400", true}, // underflows to zero: harmless
		{"1e1000", false},
		{"1E+1000", false},
		{"1e-1000", true},
		{"1e-1001", false},
		{"2e308", false},
		{"1" + strings.Repeat("0", 400), false},
		{"0." + strings.Repeat("0", 400) + "1", true},
		{"1e99999999999999999999", false},
	}
	for _, tc := range cases {
		if msg := checkNumber(json.Number(tc.number)); (msg == "") != tc.ok {
			t.Errorf("checkNumber(%.30s) = %q, want ok=%v", tc.number, msg, tc.ok)
		}
	}
}

func TestMemberPath(t *testing.T) {
	cases := map[string]string{
		"studyId":    ".studyId",
		"study_id":   ".study_id",
		"_x1":        "._x1",
		"1st":        `["1st"]`,
		"a.b":        `["a.b"]`,
		"":           `[""]`,
		`say "hi"`:   `["say \"hi\""]`,
		"with space": `["with space"]`,
	}
	for key, want := range cases {
		if got := memberPath(key); got != want {
			t.Errorf("memberPath(%q) = %s, want %s", key, got, want)
		}
	}
}

func TestLocate(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"files":[{"a b":{"x":[7]}}]}`), &v); err != nil {
		t.Fatal(err)
	}
	got, field := locate(v, []string{"files", "0", "a b", "x", "0"})
	if field != `payload.files[0]["a b"].x[0]` || got != 7.0 {
		t.Fatalf("locate = %v, %s", got, field)
	}
	// A member that is not there (a missing required field) still gets a path.
	got, field = locate(v, []string{"files", "5", "name"})
	if field != "payload.files[5].name" || got != nil {
		t.Fatalf("locate = %v, %s", got, field)
	}
}

func TestDescribeValueIsShortAndValidUTF8(t *testing.T) {
	long := strings.Repeat("é", 100)
	d := describeValue(long)
	if len(d) > 80 || !utf8.ValidString(d) || !strings.HasSuffix(d, `…"`) {
		t.Fatalf("describeValue(long) = %q", d)
	}
	for v, want := range map[any]string{nil: "null", true: "true", json.Number("1.5"): "1.5", "x": `"x"`} {
		if got := describeValue(v); got != want {
			t.Errorf("describeValue(%v) = %s, want %s", v, got, want)
		}
	}
}
