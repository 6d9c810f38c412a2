package systest

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// deviceRuns are call setups with real devices beside setups with synthetic
// media, taken in turn from two consoles running side by side.
type deviceRuns struct {
	simSynthetic, simDevices       []time.Duration // the simulated patient
	chromeSynthetic, chromeDevices []time.Duration // the Chromium patient
	media                          string          // what the devices console said it uses
}

// deviceSetups measures call setup with real devices: a console whose
// microphone and speaker are the sound tests' PulseAudio null sinks (media
// auto, audio processing on; the camera is whatever the machine has,
// synthetic without a V4L2 device), and a console with synthetic media, each
// calling a patient of its own, one call of each in turn (the order
// swapped every round), runs calls each after a warm-up call: first with
// the simulated patient, then with the Chromium patient. Setup is Enter to
// the patient's first decoded frame, as in the other setup rows.
func deviceSetups(b *testing.B, runs int) deviceRuns {
	pa := startPulse(b)
	pa.play("mic", tone(1000, 0.3, time.Second))
	var r deviceRuns
	type rig struct {
		pane    *tmuxPane
		uri     string
		logPath string
	}
	start := func() (synthetic, devices rig) {
		synthetic.pane, synthetic.uri, synthetic.logPath = startConsole(b)
		devices.pane, devices.uri, devices.logPath = startConsoleWith(b, pa.env, "--media", "auto")
		return synthetic, devices
	}
	turns := func(one func(c rig, n int) time.Duration, synthetic, devices rig) (syn, dev []time.Duration) {
		for i := 0; i <= runs; i++ {
			first, second := synthetic, devices
			if i%2 == 1 {
				first, second = devices, synthetic
			}
			d1 := one(first, i+1)
			d2 := one(second, i+1)
			if i%2 == 1 {
				d1, d2 = d2, d1
			}
			if i > 0 {
				syn, dev = append(syn, d1), append(dev, d2)
			}
		}
		return syn, dev
	}

	synthetic, devices := start()
	r.media = engineMedia(devices.logPath)
	simOut := map[*tmuxPane]*timedLines{}
	var stops []func()
	stopAll := func() {
		for _, stop := range stops {
			stop()
		}
		stops = nil
	}
	defer stopAll() // if the benchmark fails before the end of its part
	for _, c := range []rig{synthetic, devices} {
		out, stop := startSimulatedPatient(b, c.uri, c.logPath)
		simOut[c.pane], stops = out, append(stops, stop)
	}
	r.simSynthetic, r.simDevices = turns(func(c rig, n int) time.Duration {
		return simulatedSetup(b, c.pane, c.logPath, simOut[c.pane], n)
	}, synthetic, devices)
	stopAll()
	synthetic.pane.keys("q")
	devices.pane.keys("q")

	synthetic, devices = start()
	chrome := map[*tmuxPane]*browserPeer{}
	for _, c := range []rig{synthetic, devices} {
		pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", c.uri}, browserPatientArgs...)...)
		defer pt.stop()
		chrome[c.pane] = pt
	}
	r.chromeSynthetic, r.chromeDevices = turns(func(c rig, n int) time.Duration {
		return chromiumSetup(b, c.pane, c.logPath, chrome[c.pane], n)
	}, synthetic, devices)
	synthetic.pane.keys("q")
	devices.pane.keys("q")
	return r
}

// engineMedia is what the console whose log is at path said its calls
// use ("call engine ready" media=...).
func engineMedia(path string) string {
	text, _ := os.ReadFile(path)
	m := regexp.MustCompile(`call engine ready.* media="([^"]*)" speaker=(\w+)`).FindStringSubmatch(string(text))
	if m == nil {
		return "not said"
	}
	if m[2] == "true" {
		return m[1] + ", speaker"
	}
	return m[1] + ", no speaker"
}

// rows writes the real-devices rows of the side-by-side table.
func (r deviceRuns) rows(w io.Writer) {
	diff := func(dev, syn []time.Duration) string {
		return fmt.Sprintf("%+.0f ms", ms(median(dev))-ms(median(syn)))
	}
	within := func(dev, syn []time.Duration) bool {
		return len(dev) > 0 && len(syn) > 0 && median(dev)-median(syn) <= 20*time.Millisecond
	}
	fmt.Fprintf(w, "| call setup with real devices: the microphone and the speaker on a PulseAudio server (the sound tests' null sinks; the console says %q), audio processing on; beside the same console with synthetic media, calls in turn, median (min to max) of %d | with the simulated patient %s against %s synthetic (%s); with the Chromium patient %s against %s (%s) | | within 20 ms of synthetic media | %s |\n",
		r.media, len(r.simDevices),
		spread(r.simDevices), spread(r.simSynthetic), diff(r.simDevices, r.simSynthetic),
		spread(r.chromeDevices), spread(r.chromeSynthetic), diff(r.chromeDevices, r.chromeSynthetic),
		verdict(within(r.simDevices, r.simSynthetic) && within(r.chromeDevices, r.chromeSynthetic)))
}

func (r deviceRuns) report(b *testing.B) {
	b.ReportMetric(ms(median(r.simDevices)), "setup-ms-devices-simulated")
	b.ReportMetric(ms(median(r.simSynthetic)), "setup-ms-synthetic-simulated")
	b.ReportMetric(ms(median(r.chromeDevices)), "setup-ms-devices-chromium")
	b.ReportMetric(ms(median(r.chromeSynthetic)), "setup-ms-synthetic-chromium")
}

// BenchmarkSideBySideDevices is BenchmarkSideBySide's real-devices row
// alone; make bench runs it inside BenchmarkSideBySide. Run it with
// -benchtime 1x in a loopback-only network namespace, as make bench does.
func BenchmarkSideBySideDevices(b *testing.B) {
	r := deviceSetups(b, 7)
	var w strings.Builder
	fmt.Fprintln(&w, "| what | teleconsole | Chromium (libwebrtc) | target | verdict |")
	fmt.Fprintln(&w, "|---|---|---|---|---|")
	r.rows(&w)
	fmt.Println(w.String())
	if path := os.Getenv("TELECONSOLE_BENCH_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(w.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	r.report(b)
}
