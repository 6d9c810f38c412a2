// Command teleconsole is a doctor's teleconsultation console for the
// terminal: an HSPA for ABDM's Unified Health Interface. It lists the
// patients waiting, calls one over WebRTC with a key, and shows the call and
// the patient's video in the terminal.
//
// Usage:
//
//	teleconsole [flags]          the console (teleconsole --help for flags)
//	teleconsole demo             the console with three simulated patients
//	teleconsole hub [flags]      the hospital's endpoint for many consoles
//	teleconsole patient [flags]  a simulated patient against any HSPA
//	teleconsole history [flags]  past consultations from the record
//	teleconsole schedule [flags] the doctor's hours that patients book
//	teleconsole chat-key         the doctor's chat public key
//	teleconsole profile [flags]  the doctor's profile, for prescriptions
//	teleconsole devices          the cameras, microphones and speakers
//	teleconsole keygen           a new Ed25519 key pair in the UHI format
//	teleconsole sign [flags]     the Authorization header for a body on stdin
//	teleconsole verify [flags]   checks a body on stdin against a header
//	teleconsole verify-rx FILE   checks a prescription's QR code
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	applyTimerSlack()
	// One thread at a time runs Go code unless GOMAXPROCS says otherwise.
	// The heavy work of a call (libvpx, libopus) runs in C, outside the Go
	// scheduler's count, so a second P buys no speed: it only adds threads
	// woken to look for work at every packet. Measured on two cores, a call
	// costs the console about 6% less CPU this way (paired calls,
	// docs/benchmarks.md).
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code. The console
// runs when there are no arguments or the first is a flag; a first argument
// that is neither a flag nor a command is a mistake (a misspelt command,
// most likely), not the console's.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runConsole(ctx, args, stdout, stderr)
	}
	if args[0] == "help" {
		switch {
		case len(args) == 1:
			return runConsole(ctx, []string{"--help"}, stdout, stderr)
		case len(args) > 2:
			fmt.Fprintf(stderr, "teleconsole help: unexpected argument(s): %s\n", quoteArgs(args[2:]))
			return 2
		}
		args = []string{args[1], "--help"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "teleconsole: unknown command %q\n\n%s", args[0], commandsUsage())
	return 2
}

// command is one of teleconsole's subcommands.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands are teleconsole's subcommands, in the order its usage lists
// them; the console is what runs without one.
func commands() []command {
	return []command{
		{"demo", "the console with three simulated patients", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runDemo(ctx, args, stdout, stderr)
		}},
		{"hub", "the hospital's one endpoint for many consoles, over NATS", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runHub(ctx, args, stdout, stderr)
		}},
		{"patient", "a simulated patient against any HSPA", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runPatient(ctx, args, stdout, stderr)
		}},
		{"history", "past consultations from the record", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runHistory(ctx, args, stdout, stderr)
		}},
		{"schedule", "the doctor's hours that patients book, and days off", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runSchedule(ctx, args, stdout, stderr)
		}},
		{"chat-key", "the doctor's chat public key, for the patients' apps", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runChatKey(args, stdout, stderr)
		}},
		{"profile", "the doctor's profile, which prescriptions carry", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runProfile(args, stdout, stderr)
		}},
		{"devices", "the cameras, microphones and speakers calls can use", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runDevices(args, stdout, stderr)
		}},
		{"keygen", "a new Ed25519 key pair in the UHI format", func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return runKeygen(args, stdin, stdout, stderr)
		}},
		{"sign", "the Authorization header for a body on stdin", func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return runSign(args, stdin, stdout, stderr)
		}},
		{"verify", "checks a body on stdin against an Authorization header", func(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return runVerify(args, stdin, stdout, stderr)
		}},
		{"verify-rx", "checks a prescription's QR code: genuine, by whom, replaced", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runVerifyRx(ctx, args, stdout, stderr)
		}},
	}
}

// commandsUsage says how teleconsole is called and lists its commands; the
// console's --help begins with it.
func commandsUsage() string {
	var b strings.Builder
	b.WriteString("usage: teleconsole [flags]           the console\n" +
		"       teleconsole COMMAND [flags]   a command (teleconsole COMMAND --help for its flags)\n" +
		"\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	return b.String()
}

// fail prints an error the way every subcommand does and returns exit code 1.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "teleconsole: %v\n", err)
	return 1
}
