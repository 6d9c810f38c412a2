package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// envPrefix names the environment variables that stand in for flags:
// --ice-servers is also TELECONSOLE_ICE_SERVERS.
const envPrefix = "TELECONSOLE_"

// envName returns the environment variable that backs a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet is a subcommand's flag set: errors and usage go to stderr, and
// the usage is synopsis followed by the flags, if there are any.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), strings.TrimRight(synopsis, "\n"))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseCommand is how every subcommand reads its command line: args into
// fs, then every flag not given there from its environment variable when
// lookup has it (even set to the empty string: TELECONSOLE_ICE_SERVERS=
// means no ICE servers), so the command line wins. done is true when the
// command must stop now with code: 0 after --help or -h (the usage printed
// on stderr), 2 after an unknown flag, a bad value on the command line or
// in the environment, or a positional argument, none of which any
// subcommand takes (the error and the usage printed).
func parseCommand(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		// The flag package has printed the error, or only the usage for
		// --help.
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument(s): %s\n", fs.Name(), quoteArgs(fs.Args()))
		fs.Usage()
		return 2, true
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	if err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return 2, true
	}
	return 0, false
}

// quoteArgs writes arguments as Go strings, so an empty or a blank one
// shows.
func quoteArgs(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return strings.Join(quoted, " ")
}

// osLookup is the real environment, for parseCommand.
func osLookup(key string) (string, bool) { return os.LookupEnv(key) }

// noEnvironment is an empty environment, for parseCommand: the demo's
// settings are its own, whatever a console's environment says.
func noEnvironment(string) (string, bool) { return "", false }
