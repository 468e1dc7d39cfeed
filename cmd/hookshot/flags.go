package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// flagSet is one subcommand's flags and the help that explains them: the
// flags grouped by what they are for, each with its type, its environment
// variable and its default, and an example at the end.
type flagSet struct {
	*flag.FlagSet
	name, summary, example string

	groups  []string          // titles, in the order they were first used
	groupOf map[string]string // flag name → group title
	order   []string          // flag names, in the order they were filed
	current string
	notes   map[string]string // flag name → where else its value comes from
}

// newFlagSet returns an empty flag set for "hookshot name"; summary says
// what the subcommand does and example shows it used.
func newFlagSet(name, summary, example string) *flagSet {
	fs := &flagSet{
		FlagSet: flag.NewFlagSet(name, flag.ContinueOnError),
		name:    name, summary: summary, example: example,
		groupOf: map[string]string{}, notes: map[string]string{},
	}
	// parse reports every error itself, and prints the help only when asked.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// group files the flags declared from now on under title in the help.
func (fs *flagSet) group(title string) {
	fs.file()
	fs.current = title
	if !slices.Contains(fs.groups, title) {
		fs.groups = append(fs.groups, title)
	}
}

// file gives the flags declared since the last call the current group.
func (fs *flagSet) file() {
	if fs.current == "" {
		fs.current = "Flags"
		fs.groups = append(fs.groups, fs.current)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := fs.groupOf[f.Name]; !ok {
			fs.groupOf[f.Name] = fs.current
			fs.order = append(fs.order, f.Name)
		}
	})
}

// note adds to a flag's help where else its value may come from.
func (fs *flagSet) note(name, text string) { fs.notes[name] = text }

// parse reads the command line. --help prints the help on out and returns
// flag.ErrHelp. A word that belongs to no flag is refused: the flag
// package would stop there and silently ignore every flag after it.
func (fs *flagSet) parse(args []string, out io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.printHelp(out)
		return flag.ErrHelp
	}
	if err != nil {
		return fmt.Errorf("%w (see \"hookshot %s --help\")", err, fs.name)
	}
	if fs.NArg() == 0 {
		return nil
	}
	stray := fs.Arg(0)
	if i := len(args) - fs.NArg(); i > 0 {
		prev := strings.TrimLeft(args[i-1], "-")
		if f := fs.Lookup(prev); f != nil && isBool(f) {
			return fmt.Errorf("unexpected argument %q: a bool flag takes its value after =, e.g. --%s=%s", stray, prev, stray)
		}
	}
	return fmt.Errorf("unexpected argument %q: every value goes with a flag (see \"hookshot %s --help\")", stray, fs.name)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// typeName is what --help says a flag takes.
func typeName(f *flag.Flag) string {
	if t, ok := f.Value.(interface{ typeName() string }); ok {
		return t.typeName()
	}
	if isBool(f) {
		return "bool"
	}
	name, _ := flag.UnquoteUsage(f)
	return name
}

func (fs *flagSet) printHelp(w io.Writer) {
	fs.file()
	fmt.Fprintf(w, "Usage: hookshot %s", fs.name)
	if len(fs.order) > 0 {
		fmt.Fprint(w, " [flags]")
	}
	fmt.Fprintf(w, "\n\n%s\n", fs.summary)
	firstBool, hasEnv, hasFile := "", false, false
	for _, title := range fs.groups {
		var names []string
		for _, n := range fs.order {
			if fs.groupOf[n] == title {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, n := range names {
			f := fs.Lookup(n)
			if isBool(f) {
				if firstBool == "" {
					firstBool = n
				}
				fmt.Fprintf(w, "  --%s[=bool]\n", n)
			} else {
				fmt.Fprintf(w, "  --%s %s\n", n, typeName(f))
			}
			_, usage := flag.UnquoteUsage(f)
			for _, line := range wrap(usage, 72) {
				fmt.Fprintf(w, "        %s\n", line)
			}
			var more []string
			if note := fs.notes[n]; note != "" {
				hasEnv = true
				hasFile = hasFile || strings.Contains(note, "_FILE")
				more = append(more, note)
			}
			switch f.DefValue {
			case "", "0", "0s", "false":
			default:
				more = append(more, "default "+f.DefValue)
			}
			if len(more) > 0 {
				fmt.Fprintf(w, "        (%s)\n", strings.Join(more, "; "))
			}
		}
	}
	if firstBool != "" || hasEnv {
		fmt.Fprintln(w)
	}
	if firstBool != "" {
		fmt.Fprintf(w, "A bool flag alone turns it on (--%s); --%[1]s=false turns it off.\n", firstBool)
	}
	if hasEnv {
		fmt.Fprintln(w, "Flags win over environment variables.")
	}
	if hasFile {
		fmt.Fprintln(w, "A secret may also be read from the file that <VARIABLE>_FILE names.")
	}
	if fs.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", indent(fs.example, "  "))
	}
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
