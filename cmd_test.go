package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"teleconsole/call"
)

// runMain drives run as main does, with buffers for the terminal. None of
// these tests may reach the console's or the demo's TUI: each case fails
// before anything starts, even on a build whose check under test regressed
// (hence --listen bogus where the check alone would otherwise let the demo
// start).
func runMain(t *testing.T, args ...string) cmdResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return cmdResult{code, out.String(), errb.String()}
}

// subcommands are every command line teleconsole has, the console's first.
var subcommands = [][]string{{}, {"demo"}, {"patient"}, {"history"}, {"chat-key"}, {"profile"}, {"keygen"}, {"sign"}, {"verify"}, {"verify-rx"}}

func TestRunUnknownCommand(t *testing.T) {
	r := runMain(t, "deom")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, `unknown command "deom"`) {
		t.Errorf("stderr %q does not name the command", r.stderr)
	}
	for _, name := range []string{"demo", "patient", "keygen", "sign", "verify"} {
		if !strings.Contains(r.stderr, name) {
			t.Errorf("usage %q does not list %s", r.stderr, name)
		}
	}
	if strings.Contains(r.stderr, "--hpr") {
		t.Errorf("stderr %q speaks of the console's flags: the console ran", r.stderr)
	}
}

func TestRunHelpEveryCommand(t *testing.T) {
	for _, cmd := range subcommands {
		for _, help := range []string{"--help", "-h"} {
			r := runMain(t, append(cmd, help)...)
			if r.code != 0 || !strings.Contains(r.stderr, "usage: teleconsole") || r.stdout != "" {
				t.Errorf("%q: %+v, want exit 0 with the usage on stderr", append(cmd, help), r)
			}
		}
	}
	// teleconsole help is the console's help.
	if r := runMain(t, "help"); r.code != 0 || !strings.Contains(r.stderr, "-hpr") {
		t.Errorf("help: %+v, want exit 0 with the console's flags", r)
	}
	if r := runMain(t, "help", "demo"); r.code != 0 || !strings.Contains(r.stderr, "usage: teleconsole demo") {
		t.Errorf("help demo: %+v, want exit 0 with the demo's usage", r)
	}
	if r := runMain(t, "help", "deom"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "deom"`) {
		t.Errorf("help deom: %+v, want exit 2 naming the command", r)
	}
}

func TestRunBadFlagEveryCommand(t *testing.T) {
	for _, cmd := range subcommands {
		r := runMain(t, append(cmd, "--bogus")...)
		if r.code != 2 || !strings.Contains(r.stderr, "bogus") || !strings.Contains(r.stderr, "usage: teleconsole") {
			t.Errorf("%q --bogus: %+v, want exit 2 with the error and the usage", cmd, r)
		}
	}
	// A bad value, for each kind of command.
	for _, args := range [][]string{{"--ring", "soon"}, {"demo", "--ring", "soon"}, {"patient", "--ready-interval", "soon"}, {"sign", "--ttl", "soon"}} {
		if r := runMain(t, args...); r.code != 2 || !strings.Contains(r.stderr, "soon") {
			t.Errorf("%q: %+v, want exit 2 naming the value", args, r)
		}
	}
}

func TestRunStrayArgumentEveryCommand(t *testing.T) {
	for _, cmd := range [][]string{{"--listen", "bogus"}, {"demo", "--listen", "bogus"}, {"patient"}, {"keygen"}, {"sign"}, {"verify"}} {
		r := runMain(t, append(cmd, "extra", "more")...)
		if r.code != 2 || !strings.Contains(r.stderr, `unexpected argument(s): "extra" "more"`) {
			t.Errorf("%q extra more: %+v, want exit 2 naming both", cmd, r)
		}
	}
}

func TestRunDemoHelpShowsDemoDefaults(t *testing.T) {
	r := runMain(t, "demo", "--help")
	for _, want := range []string{`(default "127.0.0.1:0")`, `(default "ganeshborse@hpr.ndhm")`, `(default "synthetic")`, `(default "Dr Ganesh Borse")`, "host candidates only (the default)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("demo --help does not show %s:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "stun:") {
		t.Errorf("demo --help shows the console's ICE servers; the demo uses none:\n%s", r.stderr)
	}
}

func TestRunConsoleHelpShowsCallICEDefaults(t *testing.T) {
	var urls []string
	var user, pass string
	for _, s := range call.DefaultICEServers() {
		urls = append(urls, s.URLs...)
		if s.Username != "" {
			user, pass = s.Username, s.Credential.(string)
		}
	}
	r := runMain(t, "--help")
	for _, want := range []string{`(default "` + strings.Join(urls, ",") + `")`, `(default "` + user + `")`, `(default "` + pass + `")`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("--help does not show call's ICE default %s:\n%s", want, r.stderr)
		}
	}
}

// TestRunParsedICEDefaultsAreCalls checks that the flags' defaults, parsed
// as a command line would be, are call.DefaultICEServers exactly.
func TestRunParsedICEDefaultsAreCalls(t *testing.T) {
	p := defaultPeerFlags()
	got, err := p.ice()
	if err != nil {
		t.Fatal(err)
	}
	want := call.DefaultICEServers()
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if strings.Join(got[i].URLs, ",") != strings.Join(want[i].URLs, ",") ||
			got[i].Username != want[i].Username || got[i].Credential != want[i].Credential {
			t.Errorf("server %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRunBadEnvironmentNamed(t *testing.T) {
	t.Setenv("TELECONSOLE_RING", "soon")
	r := runMain(t, "--listen", "bogus")
	if r.code != 2 || !strings.Contains(r.stderr, "TELECONSOLE_RING") {
		t.Errorf("TELECONSOLE_RING=soon: %+v, want exit 2 naming the variable", r)
	}
	// The demo reads no environment.
	if r := runMain(t, "demo", "--listen", "bogus"); r.code != 1 || !strings.Contains(r.stderr, "listen on bogus") {
		t.Errorf("demo with TELECONSOLE_RING=soon: %+v, want the environment ignored", r)
	}
}

// TestRunStartupErrorsPrinted checks that errors found before the
// TUI starts reach the terminal, not only the log.
func TestRunStartupErrorsPrinted(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ flag, value, want string }{
		{"--media", "bogus", "bogus"},
		{"--verify", "bogus", `--verify "bogus"`},
	} {
		r := runMain(t, c.flag, c.value, "--hpr", "x", "--listen", "127.0.0.1:0", "--log", filepath.Join(dir, "console.log"))
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s %s: %+v, want a non-zero exit with the error on stderr", c.flag, c.value, r)
		}
	}
}
