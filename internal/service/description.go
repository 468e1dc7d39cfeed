package service

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/hookshot/hookshot"
)

// MaxDescriptionLength is how many characters (Unicode code points) a
// webhook's description may have.
const MaxDescriptionLength = 200

// checkDescription checks a webhook's description: optional, valid UTF-8,
// at most MaxDescriptionLength characters, and one line of text, since
// lists and page titles show it where a line break or a control
// character would garble them.
func checkDescription(d string) []hookshot.FieldError {
	bad := func(msg string) []hookshot.FieldError {
		return []hookshot.FieldError{{Field: "description", Message: msg}}
	}
	switch {
	case !utf8.ValidString(d):
		return bad("is not valid UTF-8 text")
	case utf8.RuneCountInString(d) > MaxDescriptionLength:
		return bad(fmt.Sprintf("has %d characters; at most %d are allowed", utf8.RuneCountInString(d), MaxDescriptionLength))
	}
	for _, r := range d {
		if unicode.IsControl(r) {
			return bad(fmt.Sprintf("must be one line of text without control characters (found %U)", r))
		}
	}
	return nil
}
