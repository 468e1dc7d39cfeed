package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

const accountsSummary = `Creates, changes and lists accounts directly in the database, without the
API: this is how the first administrator is made. They work on the
database that "serve" uses (--database, or HOOKSHOT_DATABASE), which must
exist: "hookshot migrate" or "hookshot serve" makes it, these never do.

Subcommands:
  create   create an account
  grant    grant roles to an account, or with --replace set them
  list     list every account and its roles

Run "hookshot accounts <subcommand> --help" for its flags.

Example:
  printf '%s\n' "$PASSWORD" | hookshot accounts create --email alice@example.org --admin --password-stdin
  hookshot accounts grant --email alice@example.org --manage 189,190
  hookshot accounts list`

const tokensSummary = `Creates, lists and revokes API tokens directly in the database, without
the API. A token is printed once, on standard output, and is stored only
hashed: keep it, or create another. They work on the database that
"serve" uses (--database, or HOOKSHOT_DATABASE), which must exist:
"hookshot migrate" or "hookshot serve" makes it, these never do.

Subcommands:
  create   create a token for an account
  list     list an account's tokens
  revoke   revoke a token at once

Run "hookshot tokens <subcommand> --help" for its flags.

Example:
  hookshot tokens create --email alice@example.org --name deploy --expires 720h
  hookshot tokens list --email alice@example.org
  hookshot tokens revoke --email alice@example.org --id 3`

// stdin is where --password-stdin reads; a variable so tests can set it.
var stdin io.Reader = os.Stdin

func runAccounts(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch("accounts", accountsSummary, map[string]subcommand{
		"create": accountsCreate,
		"grant":  accountsGrant,
		"list":   accountsList,
	}, ctx, args, getenv, stdout, stderr)
}

func runTokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch("tokens", tokensSummary, map[string]subcommand{
		"create": tokensCreate,
		"list":   tokensList,
		"revoke": tokensRevoke,
	}, ctx, args, getenv, stdout, stderr)
}

type subcommand func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// dispatch runs the named subcommand of a command group, or explains the
// group.
func dispatch(group, summary string, subs map[string]subcommand, ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(stdout, "Usage: hookshot %s <subcommand> [flags]\n\n%s\n", group, summary)
		if len(args) == 0 {
			return fmt.Errorf("%s needs a subcommand", group)
		}
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "Usage: hookshot %s <subcommand> [flags]\n\n%s\n", group, summary)
		return fmt.Errorf("%s has no subcommand %q", group, args[0])
	}
	return sub(ctx, args[1:], getenv, stdout, stderr)
}

// databaseFlag declares the one setting the account subcommands use.
func databaseFlag(fs *flagSet, getenv func(string) string) *boundSettings {
	return bindSettings(fs, getenv, "database")
}

// openService opens an existing database for administration and returns
// a Service that works on accounts only, and the Principal that the audit
// trail names for this command.
func openService(ctx context.Context, settings *boundSettings, getenv func(string) string) (*service.Service, *hookshot.Principal, func(), error) {
	cfg, err := settings.config()
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := openExistingDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, nil, nil, err
	}
	actor := &hookshot.Principal{Name: cliActor(user.Current, getenv, os.Getuid()), Admin: true}
	return service.New(store, nil, nil, nil, service.Config{}), actor, func() { store.Close() }, nil
}

// openExistingDatabase is openDatabase for commands that must not make a
// database: a mistyped SQLite path would otherwise give a new, empty one,
// and the account created in it would be lost to the real service.
// PostgreSQL needs no check: a database, or a search_path schema, that
// does not exist fails to open, and for a database the error says how to
// make one. (An existing but empty one gets Hookshot's tables, as from
// migrate: someone made it for Hookshot.)
func openExistingDatabase(ctx context.Context, database string) (hookshot.Store, error) {
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			where := path
			if abs, err := filepath.Abs(path); err == nil {
				where = abs
			}
			return nil, fmt.Errorf("no database at %s (--database %s), and this command works only on an existing one: "+
				"check the path, or create the database with \"hookshot migrate --database %s\" or by starting \"hookshot serve\"",
				where, database, database)
		}
	}
	store, err := openDatabase(ctx, database)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name: no such database
		return nil, fmt.Errorf("%w: check the database name in the URL; a new database is made with CREATE DATABASE, then \"hookshot migrate\" creates Hookshot's tables in it", err)
	}
	return store, err
}

// cliActor names the person running the CLI in the audit trail: the
// operating system's user, else $USER, else the uid, so that an entry
// always says who.
func cliActor(current func() (*user.User, error), getenv func(string) string, uid int) string {
	if u, err := current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if name := getenv("USER"); name != "" {
		return "cli:" + name
	}
	return "cli:uid " + strconv.Itoa(uid)
}

// openAccount is openService plus the account with that email, for the
// subcommands that act on one account.
func openAccount(ctx context.Context, settings *boundSettings, getenv func(string) string, email string) (*service.Service, *hookshot.Principal, *hookshot.Account, func(), error) {
	svc, actor, closeStore, err := openService(ctx, settings, getenv)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	a, err := svc.AccountByEmail(ctx, email)
	if err != nil {
		closeStore()
		return nil, nil, nil, nil, err
	}
	return svc, actor, a, closeStore, nil
}

// studyList is a flag holding comma-separated study ids.
type studyList struct {
	ids []int64
	set bool
}

func (l *studyList) String() string {
	parts := make([]string, len(l.ids))
	for i, id := range l.ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func (l *studyList) typeName() string { return "ids" }

func (l *studyList) Set(v string) error {
	l.set = true
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a study id (a positive whole number)", part)
		}
		l.ids = append(l.ids, id)
	}
	return nil
}

// roleFlags are the grant flags of create and grant.
type roleFlags struct {
	admin, publishAll *bool
	publish, manage   studyList
}

func bindRoles(fs *flagSet) *roleFlags {
	fs.group("Roles")
	r := &roleFlags{
		admin:      fs.Bool("admin", false, "administrator: everything, every study, and accounts and tokens"),
		publishAll: fs.Bool("publish-all", false, "publisher for every study"),
	}
	fs.Var(&r.publish, "publish", "publisher for these studies, comma-separated, e.g. 189,190")
	fs.Var(&r.manage, "manage", "webhooks manager of these studies, comma-separated, e.g. 189,190")
	return r
}

func accountsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("accounts create", `Creates an account with the given roles in an existing database. Without
--password-stdin the account has no password: it cannot sign in to the
portal, but it can hold API tokens (see "hookshot tokens create").`,
		`printf '%s\n' "$PASSWORD" | hookshot accounts create --email alice@example.org --admin --password-stdin
hookshot accounts create --email pipeline@example.org --publish-all`)
	fs.group("Account")
	email := fs.String("email", "", "the account's email address (required)")
	pwStdin := fs.Bool("password-stdin", false, fmt.Sprintf("read the password from the first line of standard input (at least %d characters)", service.MinPasswordLength))
	roles := bindRoles(fs)
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	in := service.AccountInput{Email: *email, Admin: *roles.admin, PublishAll: *roles.publishAll, Publish: roles.publish.ids, Manage: roles.manage.ids}
	if *pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return errors.New("--password-stdin: no password on standard input")
		}
		in.Password = strings.TrimRight(line, "\r\n")
		if in.Password == "" {
			return errors.New("--password-stdin: the first line of standard input is empty")
		}
	}
	svc, actor, closeStore, err := openService(ctx, settings, getenv)
	if err != nil {
		return err
	}
	defer closeStore()
	a, err := svc.CreateAccount(ctx, actor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created account %d %s: %s\n", a.ID, a.Email, describeRoles(a))
	return nil
}

func accountsGrant(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("accounts grant", `Grants roles to an account. The given roles are added to those it has;
with --replace its roles become exactly the given ones (so
"--replace" alone takes every role away).`,
		`hookshot accounts grant --email bob@example.org --manage 189,190 --publish 189
hookshot accounts grant --email bob@example.org --replace --manage 190`)
	fs.group("Account")
	email := fs.String("email", "", "the account's email address (required)")
	replace := fs.Bool("replace", false, "replace the account's roles instead of adding to them")
	roles := bindRoles(fs)
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	if !*replace && !*roles.admin && !*roles.publishAll && !roles.publish.set && !roles.manage.set {
		return errors.New("nothing to grant: give --admin, --publish-all, --publish or --manage (or --replace to take roles away)")
	}
	svc, actor, a, closeStore, err := openAccount(ctx, settings, getenv, *email)
	if err != nil {
		return err
	}
	defer closeStore()
	admin, publishAll := *roles.admin, *roles.publishAll
	publish, manage := roles.publish.ids, roles.manage.ids
	if !*replace {
		admin = admin || a.Admin
		publishAll = publishAll || a.PublishAll
		publish = append(slices.Clone(a.Publish), publish...)
		manage = append(slices.Clone(a.Manage), manage...)
	}
	a, err = svc.UpdateAccount(ctx, actor, a.ID, service.AccountPatch{Admin: &admin, PublishAll: &publishAll, Publish: &publish, Manage: &manage})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %d %s: %s\n", a.ID, a.Email, describeRoles(a))
	return nil
}

func accountsList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("accounts list", "Lists every account with its roles, oldest first.", "hookshot accounts list --database sqlite:/var/lib/hookshot/hookshot.db")
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	svc, _, closeStore, err := openService(ctx, settings, getenv)
	if err != nil {
		return err
	}
	defer closeStore()
	accounts, err := svc.Accounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tADMIN\tPUBLISH\tMANAGE\tPASSWORD\tCREATED")
	for _, a := range accounts {
		publish := joinIDs(a.Publish)
		if a.PublishAll {
			publish = "all"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Email, yesNo(a.Admin), publish, joinIDs(a.Manage),
			yesNo(a.PasswordHash != ""), a.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func tokensCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokens create", `Creates an API token for an account and prints it, alone, on standard
output, so that a script can capture it. It is shown only now: Hookshot
keeps only a hash of it. The token acts with the account's roles as they
are at each request.`,
		`TOKEN=$(hookshot tokens create --email pipeline@example.org --name "upload pipeline" --expires 720h)`)
	fs.group("Token")
	email := fs.String("email", "", "the email of the account the token acts for (required)")
	name := fs.String("name", "", "what the token is for, e.g. \"upload pipeline\" (required)")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h for 30 days; 0 never expires")
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return errors.New("--email and --name are required")
	}
	if *expires < 0 {
		return errors.New("--expires must be a positive duration such as 720h, or 0 for never")
	}
	svc, actor, a, closeStore, err := openAccount(ctx, settings, getenv, *email)
	if err != nil {
		return err
	}
	defer closeStore()
	in := service.TokenInput{Name: *name}
	if *expires > 0 {
		at := time.Now().Add(*expires)
		in.ExpiresAt = &at
	}
	tok, secret, err := svc.CreateToken(ctx, actor, a.ID, in)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	until := "never expires"
	if tok.ExpiresAt != nil {
		until = "expires " + tok.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(stderr, "created token %d %q for account %d %s; it %s. It is shown only this once.\n", tok.ID, tok.Name, a.ID, a.Email, until)
	return nil
}

func tokensList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokens list", "Lists an account's tokens, oldest first, without their secrets, which are not kept.",
		"hookshot tokens list --email pipeline@example.org")
	fs.group("Token")
	email := fs.String("email", "", "the account's email address (required)")
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	svc, _, a, closeStore, err := openAccount(ctx, settings, getenv, *email)
	if err != nil {
		return err
	}
	defer closeStore()
	tokens, err := svc.Tokens(ctx, a.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339),
			timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "never"), timeOr(t.RevokedAt, "-"))
	}
	return tw.Flush()
}

func tokensRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokens revoke", `Revokes one of an account's tokens; it stops working at the next request.
Find its id with "hookshot tokens list".`, "hookshot tokens revoke --email pipeline@example.org --id 3")
	fs.group("Token")
	email := fs.String("email", "", "the email of the account the token belongs to (required)")
	id := fs.Int64("id", 0, "the token's id (required)")
	settings := databaseFlag(fs, getenv)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if *email == "" || *id <= 0 {
		return errors.New("--email and --id are required")
	}
	svc, actor, a, closeStore, err := openAccount(ctx, settings, getenv, *email)
	if err != nil {
		return err
	}
	defer closeStore()
	tok, err := svc.RevokeToken(ctx, actor, a.ID, *id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %d %q of %s revoked at %s\n", tok.ID, tok.Name, a.Email, tok.RevokedAt.Format(time.RFC3339))
	return nil
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

func describeRoles(a *hookshot.Account) string {
	var roles []string
	if a.Admin {
		roles = append(roles, "admin")
	}
	if a.PublishAll {
		roles = append(roles, "publisher of every study")
	} else if len(a.Publish) > 0 {
		roles = append(roles, "publisher of "+joinIDs(a.Publish))
	}
	if len(a.Manage) > 0 {
		roles = append(roles, "webhooks manager of "+joinIDs(a.Manage))
	}
	if len(roles) == 0 {
		return "no roles"
	}
	return strings.Join(roles, "; ")
}

func joinIDs(ids []int64) string {
	if len(ids) == 0 {
		return "-"
	}
	l := studyList{ids: ids}
	return l.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
