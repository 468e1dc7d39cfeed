package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

func runVersion(_ context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("version", `Prints the version of this binary, the commit it was built from and that
commit's date, as the Go toolchain recorded them when it built it. What was
not recorded (under "go run", or with -buildvcs=false) is "unknown".`, "hookshot version\nhookshot --version")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	info, _ := debug.ReadBuildInfo() // nil when there is none
	fmt.Fprint(stdout, versionText(info))
	return nil
}

// versionText describes the build that info records (nil: none):
// the module version ("go install ...@v1.2.3"), the commit and its date,
// and whether the working tree had uncommitted changes.
func versionText(info *debug.BuildInfo) string {
	version, commit, date, goVersion := "unknown", "unknown", "unknown", "unknown"
	if info != nil {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		modified := ""
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (with uncommitted changes)"
				}
			}
		}
		if commit != "unknown" {
			commit += modified
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hookshot %s\n", version)
	fmt.Fprintf(&b, "commit:  %s\n", commit)
	fmt.Fprintf(&b, "date:    %s\n", date)
	fmt.Fprintf(&b, "go:      %s\n", goVersion)
	return b.String()
}
