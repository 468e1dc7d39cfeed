package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "hookshot unknown\ncommit:  unknown\ndate:    unknown\ngo:      unknown\n"},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"hookshot unknown\ncommit:  unknown\ndate:    unknown\ngo:      go1.26.0\n"},
		{"go install module@version", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}},
			"hookshot v1.2.3\ncommit:  unknown\ndate:    unknown\ngo:      go1.26.0\n"},
		{"go build in a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", "0123abcd", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "false")},
			"hookshot unknown\ncommit:  0123abcd\ndate:    2026-12-01T10:00:00Z\ngo:      go1.26.0\n"},
		{"go build with changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201100000-0123abcd+dirty"},
			Settings: vcs("vcs.revision", "0123abcd", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "true")},
			"hookshot v0.0.0-20261201100000-0123abcd+dirty\ncommit:  0123abcd (with uncommitted changes)\ndate:    2026-12-01T10:00:00Z\ngo:      go1.26.0\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := versionText(c.info); got != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// "hookshot --version" and "hookshot version" print what the binary
// records of its build.
func TestVersionCommand(t *testing.T) {
	info, _ := debug.ReadBuildInfo()
	want := versionText(info)
	if !strings.HasPrefix(want, "hookshot ") || !strings.Contains(want, "\ncommit: ") || !strings.Contains(want, "\ndate: ") {
		t.Fatalf("version text %q", want)
	}
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		var out, errOut bytes.Buffer
		if err := Run(t.Context(), args, func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if out.String() != want || errOut.Len() != 0 {
			t.Fatalf("%v printed %q (stderr %q), want %q", args, out.String(), errOut.String(), want)
		}
	}
	var out bytes.Buffer
	if err := Run(t.Context(), []string{"version", "extra"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Fatal("version took a stray argument")
	}
}
