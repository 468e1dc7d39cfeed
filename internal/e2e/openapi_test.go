package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// The API's OpenAPI document, loaded once. Every API call the tests make
// through callAs is checked against it: each answer must be one the
// document describes for that route and status, and each request that
// succeeded must be one it allows. So the document cannot drift from what
// the binary does without a test saying where.
var (
	contractOnce      sync.Once
	contractValidator validator.Validator
	contractErr       error
	// The validator's caches are not documented as safe for concurrent
	// use, and the tests run in parallel.
	contractMu sync.Mutex
)

func loadContract() {
	spec, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		contractErr = err
		return
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		contractErr = err
		return
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		contractErr = errs[0]
		return
	}
	contractValidator = v
}

// checkContract validates one API exchange. body is the request body that
// was sent, respBody the answer's.
func checkContract(tb testing.TB, req *http.Request, body []byte, resp *http.Response, respBody []byte) {
	tb.Helper()
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return
	}
	contractOnce.Do(loadContract)
	if contractErr != nil {
		tb.Fatalf("loading openapi.json: %v", contractErr)
	}
	contractMu.Lock()
	defer contractMu.Unlock()
	replay := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return r
	}
	answer := *resp
	answer.Body = io.NopCloser(bytes.NewReader(respBody))
	report := func(what string, errs []*vErrors.ValidationError) {
		for _, e := range errs {
			// Paths and methods the document lacks are the fallback's
			// 404 and the mux's 405: the route test covers coverage.
			if e.ValidationType == helpers.PathValidation {
				continue
			}
			detail := e.Reason
			for _, s := range e.SchemaValidationErrors {
				detail += "; " + s.FieldPath + ": " + s.Reason
			}
			shown := respBody
			if what == "the request" {
				shown = body
			}
			tb.Errorf("openapi.json: %s of %s %s (status %d) does not match: %s: %s\nbody: %.600s", what, req.Method, req.URL.Path, resp.StatusCode, e.Message, detail, shown)
		}
	}
	if _, errs := contractValidator.ValidateHttpResponse(replay(), &answer); len(errs) > 0 {
		report("the answer", errs)
	}
	if resp.StatusCode < 300 {
		if _, errs := contractValidator.ValidateHttpRequest(replay()); len(errs) > 0 {
			report("the request", errs)
		}
	}
}
