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
		{"serve", "run the API and the delivery workers", runServe},
		{"migrate", "create or update the database schema, then exit", runMigrate},
		{"accounts", "create, grant roles to and list accounts, without the API", runAccounts},
		{"tokens", "create, list and revoke API tokens, without the API", runTokens},
		{"receive", "run a local webhook receiver that prints what it gets (for developers)", runReceive},
		{"version", "print the version", runVersion},
	}
}

const version = "0.1.0"

// Run is the whole program, apart from process concerns (signals, exit
// codes), so tests can start it in-process.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return errors.New("a subcommand is needed")
		}
		return nil
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
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every flag also reads an environment variable (shown in \"hookshot <subcommand> --help\").")
}

func runVersion(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "Prints the version of this binary.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "hookshot", version)
	return nil
}

// newFlagSet returns a flag set whose --help explains the subcommand.
func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hookshot %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}
