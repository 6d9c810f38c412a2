package main

import (
	"fmt"
	"io"
)

// runChatKey prints the doctor's chat public key as the reference apps
// write keys, making the key pair on first use (docs/protocol.md §7).
func runChatKey(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole chat-key", "usage: teleconsole chat-key [--data-dir DIR]\n\n"+
		"Prints the doctor's chat public key, a JSON array of 32 integers, as the patients'\n"+
		"apps take it (the booking's \"@abdm/gov.in/doctors_key\"). The key pair is made once\n"+
		"and kept in the data directory.", stderr)
	var d dataFlags
	d.register(fs)
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	pair, err := d.chatKey()
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, pair.Public.String())
	return 0
}
