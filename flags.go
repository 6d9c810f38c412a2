package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envPrefix names the environment variables that stand in for flags:
// --ice-servers is also TELECONSOLE_ICE_SERVERS.
const envPrefix = "TELECONSOLE_"

// envName returns the environment variable that backs a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs and then fills every flag not given on the
// command line from its environment variable, if that is set (even to the
// empty string: TELECONSOLE_ICE_SERVERS= means no ICE servers). The command
// line wins over the environment.
func parseFlags(fs *flag.FlagSet, args []string, lookup func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
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
	return err
}

// osLookup is the real environment, for parseFlags.
func osLookup(key string) (string, bool) { return os.LookupEnv(key) }
