// Command teleconsole is a doctor's teleconsultation console for the
// terminal: an HSPA for ABDM's Unified Health Interface. It lists the
// patients waiting, calls one over WebRTC with a key, and shows the call and
// the patient's video in the terminal.
//
// Usage:
//
//	teleconsole [flags]          the console (teleconsole --help for flags)
//	teleconsole demo             the console with three simulated patients
//	teleconsole patient [flags]  a simulated patient against any HSPA
//	teleconsole keygen           a new Ed25519 key pair in the UHI format
//	teleconsole sign [flags]     the Authorization header for a body on stdin
//	teleconsole verify [flags]   checks a body on stdin against a header
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	applyTimerSlack()
	// One thread at a time runs Go code unless GOMAXPROCS says otherwise.
	// The heavy work of a call (libvpx, libopus) runs in C, outside the Go
	// scheduler's count, so a second P buys no speed: it only adds threads
	// woken to look for work at every packet. Measured on two cores, a call
	// costs the console about 6% less CPU this way (paired calls, README).
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return runDemo(ctx, args[1:], stdout, stderr)
		case "patient":
			return runPatient(ctx, args[1:], stdout, stderr)
		case "keygen":
			return runKeygen(args[1:], stdin, stdout, stderr)
		case "sign":
			return runSign(args[1:], stdin, stdout, stderr)
		case "verify":
			return runVerify(args[1:], stdin, stdout, stderr)
		case "help":
			args = []string{"--help"}
		}
	}
	return runConsole(ctx, args, stdout, stderr)
}

// fail prints an error the way every subcommand does and returns exit code 1.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "teleconsole: %v\n", err)
	return 1
}
