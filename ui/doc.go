// Package ui is the doctor's console in the terminal, built on Bubble Tea v2:
// a waiting room listing the patients who sent READY, a call screen with the
// call's state, network figures, history graphs and the patient's video in
// half blocks, a help screen generated from the key bindings, and a status
// bar with the console's identity and its last error.
//
// The package sees the rest of the program only through the Console
// interface, which main wires to the waiting room and the call engine and
// tests replace with a fake. Every call on the Console runs inside a tea.Cmd,
// never in Update or View, and nothing here writes to stdout or stderr
// except through Bubble Tea. The interface uses only ASCII, box-drawing
// characters, and the single-width block elements of the video and the
// sparklines.
package ui
