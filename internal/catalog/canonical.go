package catalog

import (
	"encoding/json"
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// canonicalDigits is how an id is written: 0, or digits without a leading
// zero.
var canonicalDigits = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// canonicalInteger is the schema format of ids written as JSON numbers.
// The schema's "integer" accepts 189.0 and 1.89e2 as 189, but receivers
// get the bytes as written, and one that compares ids as text, or parses
// them as integers, would not see 189 there. Payloads are decoded with
// json.Number, so the format sees the number as written.
var canonicalInteger = &jsonschema.Format{
	Name: "canonical-integer",
	Validate: func(v any) error {
		n, ok := v.(json.Number)
		if !ok || canonicalDigits.MatchString(n.String()) {
			return nil
		}
		return jsonschema.LocalizableError("not written canonically")
	},
}
