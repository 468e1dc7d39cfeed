// Command hookshot runs Hookshot, the webhook delivery service, and the
// tools around it. Run "hookshot --help" for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookshot:", err)
		os.Exit(2)
	}
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the API, the web portal and the delivery workers", runServe},
		{"migrate", "create or update the database schema, then exit", runMigrate},
		{"accounts", "create, grant roles to and list accounts, without the API", runAccounts},
		{"tokens", "create, list and revoke API tokens, without the API", runTokens},
		{"prune", "delete what the retention settings no longer keep, now (or count it)", runPrune},
		{"receive", "run a local webhook receiver that prints what it gets (for developers)", runReceive},
		{"listen", "receive a study's events on this machine through a temporary webhook (for developers)", runListen},
		{"version", "print the version, commit and date of this binary", runVersion},
	}
}

// Run is the whole program, apart from process concerns (signals, exit
// codes), so tests can start it in-process. It returns flag.ErrHelp
// after printing help that was asked for.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("a subcommand is needed")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return nil
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return nil
		}
		// "hookshot help serve" is "hookshot serve --help".
		return Run(ctx, []string{args[1], "--help"}, getenv, stdout, stderr)
	case "-version", "--version":
		return runVersion(ctx, args[1:], getenv, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Hookshot delivers webhooks: it POSTs each published event to every receiver")
	fmt.Fprintln(w, "registered for it, signs or authenticates it, retries it and records every attempt.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: hookshot <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Subcommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"hookshot <subcommand> --help" lists the flags of one, each with its environment`)
	fmt.Fprintln(w, `variable; "hookshot --version" prints the version.`)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Example:")
	fmt.Fprintln(w, "  HOOKSHOT_ADMIN_TOKEN=change-me hookshot serve --database sqlite:hookshot.db")
}
