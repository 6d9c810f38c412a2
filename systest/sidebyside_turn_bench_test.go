package systest

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// turnRuns are the setups through a TURN server: the console and the
// Chromium doctor calling a Chromium patient allowed only relay candidates,
// its candidates at once and 1 s late.
type turnRuns struct {
	tc, chrome         []time.Duration
	lateTC, lateChrome []time.Duration
}

// turnSetups measures call setup through a TURN server (pion/turn, in this
// process, on loopback) with the Chromium patient relay-only: the console
// calling it (Enter to the patient's first decoded frame), then the Chromium
// doctor (the decision to the same frame), runs calls each after a warm-up
// call, with the patient's candidates at once and then 1 s late. Both
// doctors have the TURN server as their ICE server, may use every
// candidate, and trickle theirs at once.
func turnSetups(b *testing.B, runs int) turnRuns {
	srv, _ := startTURN(b)
	doctorICE := turnFlags(srv, "udp", "all")
	patientICE := turnFlags(srv, "udp", "relay")
	var r turnRuns
	for _, late := range []bool{false, true} {
		args := slices.Clone(browserPatientArgs)
		if late {
			args = latePatientArgs()
		}
		args = append(args, patientICE...)
		pane, uri, logPath := startConsoleWith(b, nil, doctorICE...)
		pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, args...)...)
		console := consoleSetups(b, pane, logPath, pt, runs)
		pane.keys("q")
		pt.stop()

		doc := startBrowserPeer(b, "doctor.mjs", append([]string{"--candidate-delay", "0", "--stats-interval", "3600000"}, doctorICE...)...)
		uri = doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
		pt = startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, args...)...)
		chromium := (&browserCalls{b: b, doc: doc, pt: pt}).setups(runs)
		pt.stop()
		doc.stop()
		if late {
			r.lateTC, r.lateChrome = console, chromium
		} else {
			r.tc, r.chrome = console, chromium
		}
	}
	return r
}

// rows writes the TURN rows of the side-by-side table; lateDirect is the
// console's setup with late candidates and no TURN server (nil when not
// measured in this run).
func (r turnRuns) rows(w io.Writer, lateDirect []time.Duration) {
	atOnce := median(r.tc)
	fmt.Fprintf(w, "| call setup through a TURN server (pion/turn on loopback), the Chromium patient relay-only, candidates at once, median (min to max) of %d | %s | Chromium doctor %s | < 300 ms, and no slower than the browser | %s |\n",
		len(r.tc), spread(r.tc), spread(r.chrome), verdict(atOnce > 0 && atOnce < 300*time.Millisecond && atOnce <= median(r.chrome)))
	lateTarget, lateOK := "no slower than without TURN", median(r.lateTC) > 0
	if lateDirect != nil {
		lateOK = lateOK && median(r.lateTC) <= median(lateDirect)
		lateTarget += fmt.Sprintf(" (%.0f ms, above)", ms(median(lateDirect)))
	}
	fmt.Fprintf(w, "| the same, the patient's candidates 1 s late, median (min to max) of %d | %s | Chromium doctor %s | %s | %s |\n",
		len(r.lateTC), spread(r.lateTC), spread(r.lateChrome), lateTarget, verdict(lateOK))
}

func (r turnRuns) report(b *testing.B) {
	b.ReportMetric(ms(median(r.tc)), "setup-ms-turn")
	b.ReportMetric(ms(median(r.chrome)), "setup-ms-turn-chromium")
	b.ReportMetric(ms(median(r.lateTC)), "setup-ms-turn-late")
	b.ReportMetric(ms(median(r.lateChrome)), "setup-ms-turn-late-chromium")
}

// BenchmarkSideBySideTURN is BenchmarkSideBySide's TURN rows alone, with
// the late-candidates row without TURN they are held against, for
// measuring them without the rest; make bench runs them inside
// BenchmarkSideBySide. Run it with -benchtime 1x in a loopback-only
// network namespace, as make bench does.
func BenchmarkSideBySideTURN(b *testing.B) {
	const runs = 7
	lateTC, lateChrome := lateSetups(b, runs)
	r := turnSetups(b, runs)
	var w strings.Builder
	fmt.Fprintln(&w, "| what | teleconsole | Chromium (libwebrtc) | target | verdict |")
	fmt.Fprintln(&w, "|---|---|---|---|---|")
	fmt.Fprintf(&w, "| call setup, patient's candidates 1 s late, no TURN server, median (min to max) of %d | with the Chromium patient %s | Chromium doctor with the Chromium patient %s | | |\n",
		len(lateTC), spread(lateTC), spread(lateChrome))
	r.rows(&w, lateTC)
	fmt.Println(w.String())
	if path := os.Getenv("TELECONSOLE_BENCH_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	r.report(b)
	b.ReportMetric(ms(median(lateTC)), "setup-ms-late-candidates")
}
