package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
	"github.com/hookshot/hookshot/internal/sqlite"
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
// with a password from stdin, grant adds, grant --replace sets, list shows;
// the audit trail names the operating system's user.
func TestAccountsCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookshot.db")
	db := "sqlite:" + path
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
	if out, err := run("", "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
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

	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	entries, err := store.Audit(context.Background(), hookshot.AuditFilter{Limit: 100})
	if err != nil || len(entries) < 4 {
		t.Fatalf("audit: %v, %d entries", err, len(entries))
	}
	want := cliActor(user.Current, os.Getenv, os.Getuid())
	for _, e := range entries {
		if e.Actor != want || e.Actor == "cli:unknown" {
			t.Fatalf("audit entry %+v: actor %q, want %q", e, e.Actor, want)
		}
	}
}

func TestCLIActor(t *testing.T) {
	found := func() (*user.User, error) { return &user.User{Username: "alice"}, nil }
	missing := func() (*user.User, error) { return nil, errors.New("user: unknown userid 4242") }
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	cases := []struct {
		name    string
		current func() (*user.User, error)
		env     map[string]string
		want    string
	}{
		{"the operating system's user", found, map[string]string{"USER": "bob"}, "cli:alice"},
		{"then $USER", missing, map[string]string{"USER": "bob"}, "cli:bob"},
		{"then the uid", missing, nil, "cli:uid 4242"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := cliActor(c.current, env(c.env), 4242); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// accounts and tokens never create a database: a mistyped path would
// get an empty one, and an administrator made in it would be lost.
func TestAccountsRefuseToCreateADatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Cleanup(func() { stdin = os.Stdin })
	for _, args := range [][]string{
		{"accounts", "create", "--email", "a@example.org", "--admin"},
		{"accounts", "grant", "--email", "a@example.org", "--admin"},
		{"accounts", "list"},
		{"tokens", "create", "--email", "a@example.org", "--name", "x"},
		{"tokens", "list", "--email", "a@example.org"},
		{"tokens", "revoke", "--email", "a@example.org", "--id", "1"},
	} {
		for _, how := range []string{"flag", "environment"} {
			t.Run(strings.Join(args, " ")+" by "+how, func(t *testing.T) {
				env := map[string]string{}
				args := slices.Clone(args)
				if how == "flag" {
					args = append(args, "--database", "sqlite:typo.db")
				} else {
					env["HOOKSHOT_DATABASE"] = "sqlite:typo.db"
				}
				stdin = strings.NewReader("")
				var out bytes.Buffer
				err := Run(context.Background(), args, func(k string) string { return env[k] }, &out, &out)
				if err == nil {
					t.Fatalf("succeeded:\n%s", out.String())
				}
				for _, m := range []string{filepath.Join(dir, "typo.db"), "hookshot migrate --database sqlite:typo.db", "hookshot serve"} {
					if !strings.Contains(err.Error(), m) {
						t.Fatalf("error %q does not mention %q", err, m)
					}
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Fatalf("left %v behind", left)
				}
			})
		}
	}
	// migrate makes it, and then they work on it.
	var out bytes.Buffer
	none := func(string) string { return "" }
	if err := Run(context.Background(), []string{"migrate", "--database", "sqlite:typo.db"}, none, &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if err := Run(context.Background(), []string{"accounts", "list", "--database", "sqlite:typo.db"}, none, &out, &out); err != nil {
		t.Fatalf("accounts list after migrate: %v\n%s", err, out.String())
	}
}

// On PostgreSQL a database or schema that does not exist is refused too,
// with a message that says what is missing.
func TestAccountsOnMissingPostgres(t *testing.T) {
	schema := pgtest.URL(t) // skips without HOOKSHOT_TEST_POSTGRES
	u, err := url.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/hookshot_no_such_database"
	noDatabase := u.String()
	noSchema := strings.Replace(schema, "search_path=", "search_path=no_such_schema_", 1)
	for name, c := range map[string]struct{ database, mention string }{
		"no database": {noDatabase, "CREATE DATABASE"},
		"no schema":   {noSchema, "search_path"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), []string{"accounts", "list", "--database", c.database}, func(string) string { return "" }, &out, &out)
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, c.mention)
			}
		})
	}
}
