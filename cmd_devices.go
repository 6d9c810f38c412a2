package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"teleconsole/call"
)

// runDevices lists the cameras, microphones and speakers the console can
// use, with the ids --camera, --microphone and --speaker take; * marks the
// one used when none is chosen.
func runDevices(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole devices", "usage: teleconsole devices\n\nLists the cameras, microphones and speakers (* the default) with the ids --camera, --microphone and --speaker take.", stderr)
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	writeDevices(stdout, call.Devices())
	return 0
}

// writeDevices prints devs as a table, each kind with a line even when
// none is found.
func writeDevices(w io.Writer, devs []call.Device) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\t\tID\tNAME")
	for _, k := range []call.DeviceKind{call.DeviceCamera, call.DeviceMicrophone, call.DeviceSpeaker} {
		n := 0
		for _, d := range devs {
			if d.Kind != k {
				continue
			}
			mark := ""
			if d.Default {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k, mark, d.ID, d.Name)
			n++
		}
		if n == 0 {
			fmt.Fprintf(tw, "%s\t\t-\tnone found\n", k)
		}
	}
	_ = tw.Flush()
}
