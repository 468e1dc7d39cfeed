package catalog

import (
	"embed"
	"io/fs"
)

// exampleFiles are the product's example payloads (SPEC §2), one file per
// event type and, for upload, one per status: <type>[-<variant>].json. They
// are the one copy in the repository, used by the catalog, its tests and the
// end-to-end tests alike; shared/fixtures/events is the reference they are
// checked against (TestExamplesMatchShared).
//
//go:embed examples/*.json
var exampleFiles embed.FS

// ExampleFiles returns the example payloads as a file system whose root
// holds the .json files.
func ExampleFiles() fs.FS {
	sub, err := fs.Sub(exampleFiles, "examples")
	if err != nil {
		panic(err) // "examples" is a valid path, so fs.Sub cannot fail
	}
	return sub
}
