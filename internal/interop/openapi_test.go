package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// lintWarning is a finding in the stylish format ("1:32  warning  rule  text"),
// not the notice Redocly prints about the Node.js version.
var lintWarning = regexp.MustCompile(`(?m)^\s*\d+:\d+\s+warning\s`)

const (
	redoclyDir     = "testdata/redocly"
	redoclyInstall = "npm ci --prefix internal/interop/testdata/redocly"
)

// TestOpenAPIPassesRedoclyLint runs Redocly's linter, an implementation
// of the OpenAPI rules that owes nothing to ours, over the document the
// API serves, with its recommended rules; a warning fails as an error does.
func TestOpenAPIPassesRedoclyLint(t *testing.T) {
	node := requireNode(t)
	cli := filepath.Join(redoclyDir, "node_modules", "@redocly", "cli", "bin", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("@redocly/cli is not installed (%v); CI=true, so this fails rather than skips", err)
		}
		t.Skip("@redocly/cli is not installed: run " + redoclyInstall + " from the repository's root")
	}
	doc, err := filepath.Abs("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if cli, err = filepath.Abs(cli); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, cli, "lint", "--format", "stylish", "--max-problems", "50", doc)
	cmd.Dir = redoclyDir // where redocly.yaml names the rules
	// Redocly asks its servers for telemetry unless told not to; this
	// machine reaches no such server.
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint failed: %v\n%s", err, out)
	}
	if lintWarning.Match(out) {
		t.Fatalf("redocly lint warns:\n%s", out)
	}
}
