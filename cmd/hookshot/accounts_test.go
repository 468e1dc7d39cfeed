package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStudyList(t *testing.T) {
	cases := []struct {
		name, in string
		want     string
		bad      bool
	}{
		{"one", "189", "189", false},
		{"several", "189, 190,191", "189,190,191", false},
		{"empty parts", "189,,190,", "189,190", false},
		{"not a number", "189,abc", "", true},
		{"zero", "0", "", true},
		{"negative", "-4", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l studyList
			err := l.Set(c.in)
			if (err != nil) != c.bad {
				t.Fatalf("Set(%q) = %v, want error %v", c.in, err, c.bad)
			}
			if !c.bad && l.String() != c.want {
				t.Fatalf("Set(%q) gave %s, want %s", c.in, l.String(), c.want)
			}
		})
	}
}

// The account subcommands run in-process against a SQLite file: create
// with a password from stdin, grant adds, grant --replace sets, list shows.
func TestAccountsCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "hookshot.db")
	env := func(k string) string {
		if k == "HOOKSHOT_DATABASE" {
			return db
		}
		return ""
	}
	t.Cleanup(func() { stdin = os.Stdin })
	run := func(input string, args ...string) (string, error) {
		t.Helper()
		stdin = strings.NewReader(input)
		var out, errOut bytes.Buffer
		err := Run(context.Background(), args, env, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run("a good long password\n", "accounts", "create", "--email", "Eve@Example.org", "--password-stdin", "--publish", "189")
	if err != nil || !strings.Contains(out, "created account 1 eve@example.org: publisher of 189") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out, err = run("", "accounts", "grant", "--email", "eve@example.org", "--manage", "190", "--publish", "191"); err != nil ||
		!strings.Contains(out, "publisher of 189,191; webhooks manager of 190") {
		t.Fatalf("grant: %v\n%s", err, out)
	}
	if out, err = run("", "accounts", "grant", "--email", "eve@example.org", "--replace", "--admin"); err != nil ||
		!strings.Contains(out, ": admin\n") {
		t.Fatalf("grant --replace: %v\n%s", err, out)
	}
	if out, err = run("", "accounts", "list"); err != nil || !strings.Contains(out, "eve@example.org") || !strings.Contains(out, "yes") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err = run("", "accounts", "create", "--email", "x@example.org", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("empty stdin: %v", err)
	}
	if out, err = run("", "tokens", "create", "--email", "eve@example.org", "--name", "ci"); err != nil || !strings.HasPrefix(out, "hst_") {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	if out, err = run("", "tokens", "list", "--email", "eve@example.org"); err != nil || !strings.Contains(out, "ci") {
		t.Fatalf("tokens list: %v\n%s", err, out)
	}
	if out, err = run("", "tokens", "revoke", "--email", "eve@example.org", "--id", "1"); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("tokens revoke: %v\n%s", err, out)
	}
	if _, err = run("", "tokens", "revoke", "--email", "eve@example.org", "--id", "2"); err == nil || !strings.Contains(err.Error(), "Token 2 does not exist") {
		t.Fatalf("revoking an unknown token: %v", err)
	}
	if _, err = run("", "accounts", "create", "--email", "y@example.org", "stray"); err == nil || !strings.Contains(err.Error(), "stray") {
		t.Fatalf("stray argument: %v", err)
	}
}
