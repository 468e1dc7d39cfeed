package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var helpFlag = regexp.MustCompile(`(?m)^  --([a-z-]+)(\[=bool\]| \S+)$`)

// Every subcommand's --help lists exactly the flags it uses, grouped,
// with their types, ends with an example, and never prints a secret.
func TestSubcommandHelp(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("secret-from-a-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"HOOKSHOT_ADMIN_TOKEN":      "very-secret-token",
		"HOOKSHOT_SECRET_KEY_FILE":  tokenFile,
		"HOOKSHOT_RECEIVE_SECRET":   "receiver-secret",
		"HOOKSHOT_TOKEN":            "listen-token-secret",
		"HOOKSHOT_DATABASE":         "postgres://u:db-password@127.0.0.1/x",
		"HOOKSHOT_ALLOW_HTTP":       "true",
		"HOOKSHOT_DELIVERY_TIMEOUT": "1s",
	}
	database := []string{"database"}
	roles := []string{"admin", "manage", "publish", "publish-all"}
	cases := []struct {
		args   []string
		flags  []string
		groups []string
		types  []string
	}{
		{[]string{"serve"}, settingNames(), []string{"Server:", "Database:", "Delivery:", "Portal:", "Retention:", "Logging:"},
			[]string{"--allow-http[=bool]", "--concurrency int", "--max-body int", "--delivery-timeout duration", "--retry-schedule durations", "--egress-allow CIDRs", "--addr string"}},
		{[]string{"migrate"}, database, []string{"Database:"}, nil},
		{[]string{"prune"}, []string{"dry-run", "database", "retention", "audit-retention"}, []string{"Flags:", "Database:", "Retention:"},
			[]string{"--dry-run[=bool]", "--retention duration"}},
		{[]string{"accounts", "create"}, slices.Concat([]string{"email", "password-stdin"}, roles, database), []string{"Account:", "Roles:", "Database:"},
			[]string{"--admin[=bool]", "--manage ids", "--email string"}},
		{[]string{"accounts", "grant"}, slices.Concat([]string{"email", "replace"}, roles, database), []string{"Account:", "Roles:", "Database:"}, nil},
		{[]string{"accounts", "list"}, database, []string{"Database:"}, nil},
		{[]string{"tokens", "create"}, []string{"email", "name", "expires", "database"}, []string{"Token:", "Database:"}, []string{"--expires duration"}},
		{[]string{"tokens", "list"}, []string{"email", "database"}, []string{"Token:", "Database:"}, nil},
		{[]string{"tokens", "revoke"}, []string{"email", "id", "database"}, []string{"Token:", "Database:"}, []string{"--id int"}},
		{[]string{"receive"}, []string{"addr", "tls-cert", "tls-key", "secret", "next-secret", "status"}, []string{"Listening:", "Answers:"}, []string{"--status int"}},
		{[]string{"listen"}, []string{"server", "token", "study", "forward-to", "events", "forward-timeout"}, []string{"Server:", "Forwarding:"},
			[]string{"--study int", "--forward-timeout duration"}},
		{[]string{"version"}, nil, nil, nil},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		covered[c.args[0]] = true
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(t.Context(), append(slices.Clone(c.args), "--help"), func(k string) string { return secrets[k] }, &out, &errOut)
			if !errors.Is(err, flag.ErrHelp) || errOut.Len() != 0 {
				t.Fatalf("err %v, stderr %q", err, errOut.String())
			}
			help := out.String()
			if !strings.HasPrefix(help, "Usage: hookshot "+name) {
				t.Fatalf("no usage line:\n%s", help)
			}
			var listed []string
			for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
				listed = append(listed, m[1])
			}
			slices.Sort(listed)
			want := slices.Sorted(slices.Values(c.flags))
			if !slices.Equal(listed, want) {
				t.Fatalf("lists %v, want %v:\n%s", listed, want, help)
			}
			at := 0
			for _, g := range c.groups {
				i := strings.Index(help[at:], "\n"+g+"\n")
				if i < 0 {
					t.Fatalf("no group %q after position %d:\n%s", g, at, help)
				}
				at += i + 1
			}
			for _, ty := range c.types {
				if !strings.Contains(help, "\n  "+ty+"\n") {
					t.Fatalf("does not show %q:\n%s", ty, help)
				}
			}
			i := strings.LastIndex(help, "\nExample:\n")
			if i < 0 {
				t.Fatalf("no example:\n%s", help)
			}
			for _, line := range strings.Split(strings.TrimSuffix(help[i+len("\nExample:\n"):], "\n"), "\n") {
				if !strings.HasPrefix(line, "  ") || !strings.Contains(line, "hookshot ") {
					t.Fatalf("does not end with an example of %s:\n%s", name, help)
				}
			}
			for _, s := range []string{"very-secret-token", "secret-from-a-file", "receiver-secret", "db-password", "listen-token-secret"} {
				if strings.Contains(help, s) {
					t.Fatalf("prints a secret (%s):\n%s", s, help)
				}
			}
			// The defaults shown are the built-in ones, not the environment's.
			if strings.Contains(help, "default 1s") {
				t.Fatalf("shows a value from the environment as the default:\n%s", help)
			}
		})
	}
	for _, c := range commands() {
		if !covered[c.name] {
			t.Errorf("no help case for %s", c.name)
		}
	}
}

// hookshot --help names every subcommand on a line of its own, and each
// group of subcommands names its own.
func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out bytes.Buffer
		if err := Run(t.Context(), args, func(string) string { return "" }, &out, &out); err != nil {
			t.Fatal(err)
		}
		for _, c := range commands() {
			if !regexp.MustCompile(`(?m)^  ` + c.name + ` +\S.*$`).MatchString(out.String()) {
				t.Fatalf("%v does not list %s on its own line:\n%s", args, c.name, out.String())
			}
		}
		if !strings.Contains(out.String(), "\nExample:\n") {
			t.Fatalf("%v has no example:\n%s", args, out.String())
		}
	}
	for group, subs := range map[string][]string{"accounts": {"create", "grant", "list"}, "tokens": {"create", "list", "revoke"}} {
		var out bytes.Buffer
		if err := Run(t.Context(), []string{group, "--help"}, func(string) string { return "" }, &out, &out); !errors.Is(err, flag.ErrHelp) {
			t.Fatal(err)
		}
		for _, s := range subs {
			if !regexp.MustCompile(`(?m)^  ` + s + ` +\S.*$`).MatchString(out.String()) {
				t.Fatalf("%s --help does not list %s:\n%s", group, s, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := Run(t.Context(), []string{"help", "migrate"}, func(string) string { return "" }, &out, &out); !errors.Is(err, flag.ErrHelp) ||
		!strings.HasPrefix(out.String(), "Usage: hookshot migrate") {
		t.Fatalf("help migrate: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := Run(t.Context(), nil, func(string) string { return "" }, &out, &out); err == nil || !strings.Contains(out.String(), "Usage:") {
		t.Fatalf("no subcommand: %v\n%s", err, out.String())
	}
}
