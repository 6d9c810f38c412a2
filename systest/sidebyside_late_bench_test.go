package systest

import (
	"slices"
	"testing"
	"time"
)

// latePatientArgs are browserPatientArgs with the patient's candidates
// posted 1 s after gathering, as the patients' app posts them.
func latePatientArgs() []string {
	args := slices.Clone(browserPatientArgs)
	i := slices.Index(args, "--candidate-delay")
	args[i+1] = "1000"
	return args
}

// lateSetups measures call setup against a Chromium patient whose candidates
// come 1 s late: the console calling it (Enter to the patient's first
// decoded frame), then the Chromium doctor calling it (the decision to the
// same frame), runs calls each after a warm-up call. The doctors trickle
// their own candidates at once.
func lateSetups(b *testing.B, runs int) (console, chromium []time.Duration) {
	pane, uri, logPath := startConsole(b)
	pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, latePatientArgs()...)...)
	console = consoleSetups(b, pane, logPath, pt, runs)
	pane.keys("q")
	pt.stop()

	doc := startBrowserPeer(b, "doctor.mjs", "--candidate-delay", "0", "--stats-interval", "3600000")
	defer doc.stop()
	uri = doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
	pt = startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, latePatientArgs()...)...)
	defer pt.stop()
	chromium = (&browserCalls{b: b, doc: doc, pt: pt}).setups(runs)
	return console, chromium
}
