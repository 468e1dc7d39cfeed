package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
)

func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name, body string
	}{
		{"plain", `{"url":"https://example.com/","events":["upload"]}`},
		{"non-ASCII text", `{"url":"https://example.com/é","events":["upload"]}`},
		{"a surrogate pair escaped", `{"url":"https://example.com/\ud83d\ude00","events":["upload"]}`},
		{"an escaped backslash before u", `{"url":"https://example.com/\\ud800","events":["upload"]}`},
		{"nested auth", `{"auth":{"type":"hmac","secret":"s"}}`},
		{"options map with any key", `{"event_options":{"upload":{"statuses":["error"]}}}`},
		{"white space after", "{\"url\":\"x\"}\n\t "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req webhookRequest
			if err := decodeJSON([]byte(c.body), &req); err != nil {
				t.Fatalf("decodeJSON(%s): %v", c.body, err)
			}
		})
	}
	var pub publishRequest
	payload := `{"studyId":"189","Studyid":"x","n":1.50}`
	if err := decodeJSON([]byte(`{"type":"upload","payload":`+payload+`}`), &pub); err != nil {
		t.Fatal(err)
	}
	if string(pub.Payload) != payload {
		t.Fatalf("payload %s, want the bytes sent, %s", pub.Payload, payload)
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		code  string
		field string // a FieldError must name it, when set
		say   string // the message must contain it
	}{
		{"invalid UTF-8 in a string", "{\"url\":\"https://example.com/\xff\"}", hookshot.EMalformed, "", "byte 28"},
		{"invalid UTF-8 in a name", "{\"ur\xc3l\":\"x\"}", hookshot.EMalformed, "", "UTF-8"},
		{"invalid UTF-8 in a payload", "{\"type\":\"upload\",\"payload\":{\"m\":\"\xed\xa0\x80\"}}", hookshot.EMalformed, "", "UTF-8"},
		{"a lone high surrogate", `{"url":"https://example.com/\ud800"}`, hookshot.EMalformed, "", `\ud800`},
		{"a lone low surrogate", `{"url":"\udc00x"}`, hookshot.EMalformed, "", "surrogate"},
		{"a high surrogate before a non-surrogate", `{"url":"\ud800\u0041"}`, hookshot.EMalformed, "", "surrogate"},
		{"a duplicate field", `{"url":"https://a.example/","url":"https://b.example/"}`, hookshot.EInvalid, "url", "more than once"},
		{"a duplicate nested field", `{"auth":{"type":"hmac","type":"none"}}`, hookshot.EInvalid, "auth.type", "more than once"},
		{"a duplicate in a map", `{"event_options":{"upload":{},"upload":{}}}`, hookshot.EInvalid, "event_options.upload", "more than once"},
		{"a duplicate in an array's object", `{"events":["upload"],"event_options":{"upload":{"statuses":["error"],"statuses":[]}}}`, hookshot.EInvalid, "event_options.upload.statuses", "more than once"},
		{"a field in another case", `{"URL":"https://example.com/"}`, hookshot.EMalformed, "URL", `did you mean "url"`},
		{"an unknown nested field", `{"auth":{"type":"hmac","secrets":"s"}}`, hookshot.EMalformed, "auth.secrets", "does not know"},
		{"trailing data", `{"url":"x"} {}`, hookshot.EMalformed, "", "after its JSON value"},
		{"trailing garbage", `{"url":"x"} x`, hookshot.EMalformed, "", "after its JSON value"},
		{"empty", " \n", hookshot.EMalformed, "", "empty"},
		{"truncated", `{"url":`, hookshot.EMalformed, "", "ends too early"},
		{"not an object", `[1]`, hookshot.EMalformed, "", "JSON object"},
		{"a wrong type", `{"url":5}`, hookshot.EMalformed, "url", "string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req webhookRequest
			err := decodeJSON([]byte(c.body), &req)
			if hookshot.ErrorCode(err) != c.code {
				t.Fatalf("decodeJSON(%q): %v (code %q), want code %q", c.body, err, hookshot.ErrorCode(err), c.code)
			}
			if msg := hookshot.ErrorMessage(err); !strings.Contains(msg, c.say) {
				t.Fatalf("message %q does not say %q", msg, c.say)
			}
			if c.field != "" {
				e := err.(*hookshot.Error)
				if len(e.FieldErrors) != 1 || e.FieldErrors[0].Field != c.field {
					t.Fatalf("field errors %+v, want one for %s", e.FieldErrors, c.field)
				}
			}
		})
	}
}

func TestDecodeRefusesDuplicatesInsidePayloads(t *testing.T) {
	var pub publishRequest
	err := decodeJSON([]byte(`{"type":"upload","payload":{"studyId":"189","studyId":"190"}}`), &pub)
	e, ok := err.(*hookshot.Error)
	if !ok || e.Code != hookshot.EInvalid || len(e.FieldErrors) != 1 || e.FieldErrors[0].Field != "payload.studyId" {
		t.Fatalf("got %#v, want an invalid payload.studyId", err)
	}
}

func TestDecodeRefusesDeepNesting(t *testing.T) {
	var pub publishRequest
	body := `{"type":"upload","payload":` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 71)
	if err := decodeJSON([]byte(body), &pub); !strings.Contains(hookshot.ErrorMessage(err), "deeper than 64") {
		t.Fatalf("got %v, want a refusal of the nesting", err)
	}
}

func TestContentType(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"} {
		if err := checkContentType(ct); err != nil {
			t.Errorf("checkContentType(%q): %v", ct, err)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json-patch+json", "application/jsonx",
		"application/json; charset=latin1", "application/json; boundary=x", "json"} {
		err := checkContentType(ct)
		if hookshot.HTTPStatus(hookshot.ErrorCode(err)) != http.StatusUnsupportedMediaType {
			t.Errorf("checkContentType(%q): %v, want 415", ct, err)
		}
	}
}

func TestDecodeThroughTheHandlerLimit(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"url":"`+strings.Repeat("x", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(rec, r.Body, 50)
	var req webhookRequest
	err := decode(r, &req)
	if hookshot.ErrorCode(err) != hookshot.ETooLarge || !strings.Contains(hookshot.ErrorMessage(err), "50 bytes") {
		t.Fatalf("got %v, want too large naming the limit", err)
	}
	raw, _ := json.Marshal(hookshot.ErrorMessage(err))
	if !strings.Contains(string(raw), "HOOKSHOT_MAX_BODY") {
		t.Fatalf("%s does not name the setting", raw)
	}
}
