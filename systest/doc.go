// Package systest holds the system tests: the real teleconsole binary in a
// real terminal (tmux), against the simulated patient and against headless
// Chromium as patient and as doctor, on shaped links between network
// namespaces, and the side-by-side benchmark against a browser doctor. The
// Makefile runs them (make e2e, make interop, make faults, make bench);
// each finds the binary in $TELECONSOLE_BIN, or builds it.
package systest
