package systest

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"teleconsole/call"
)

// BenchmarkSideBySide measures the console next to what a doctor would
// otherwise use, a browser (headless Chromium, libwebrtc), on this machine
// and its loopback, with the same UHI signalling, and writes the table of
// docs/benchmarks.md to $TELECONSOLE_BENCH_TABLE (make bench prints it):
//
//   - call setup, the doctor's action to the patient's first decoded frame,
//     candidates sent at once: teleconsole doctor with the simulated patient,
//     with the Chromium patient, and the Chromium doctor with the Chromium
//     patient (the browser anchor);
//   - the same with the Chromium patient's candidates 1 s late, as the
//     patients' app posts them: the console, and the Chromium doctor;
//   - both again through a TURN server with the Chromium patient allowed
//     only relay candidates (sidebyside_turn_bench_test.go);
//   - call setup with real devices (a PulseAudio server's microphone and
//     speaker) beside synthetic media (sidebyside_devices_bench_test.go);
//   - lip sync, audio minus video at presentation, of the sync marks in the
//     synthetic media: console to Chromium patient, Chromium patient to
//     console, Chromium doctor to Chromium patient;
//   - CPU seconds per call second and peak memory (PSS, all processes) of the
//     doctor's side during a 20 s call with the Chromium patient;
//   - on_message throughput and p99, and terminal bytes per second, read
//     from the uhiclient and ui benchmarks' output in $TELECONSOLE_BENCH_OUT.
//
// It does its work once, whatever b.N: run it with -benchtime 1x.
func BenchmarkSideBySide(b *testing.B) {
	const runs = 7 // measured calls per pairing, after one warm-up call
	const hold = 20 * time.Second
	var r sideBySide
	r.setupSim = setupTeleconsoleSimulated(b, runs)
	r.setupTCChrome, r.tc, r.tcTerm = teleconsoleWithChromiumPatient(b, runs, hold)
	r.setupChrome, r.chrome, r.bridge = chromiumWithChromiumPatient(b, runs, hold)
	r.lateTC, r.lateChrome = lateSetups(b, runs)
	r.turn = turnSetups(b, runs)
	r.devices = deviceSetups(b, runs)
	r.lipSync = lipSyncCalls(b)
	table := r.table(b, hold)
	fmt.Println(table)
	if path := os.Getenv("TELECONSOLE_BENCH_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(ms(median(r.setupSim)), "setup-ms-simulated")
	b.ReportMetric(ms(median(r.setupTCChrome)), "setup-ms-chromium-patient")
	b.ReportMetric(ms(median(r.setupChrome)), "setup-ms-chromium-both")
	b.ReportMetric(ms(median(r.lateTC)), "setup-ms-late-candidates")
	b.ReportMetric(ms(median(r.lateChrome)), "setup-ms-late-candidates-chromium")
	r.turn.report(b)
	r.devices.report(b)
	b.ReportMetric(ms(median(r.lipSync.tcToChrome)), "lipsync-ms-to-chromium")
	b.ReportMetric(r.tc.cpu, "cpu-s/s-teleconsole")
	b.ReportMetric(r.chrome.cpu, "cpu-s/s-chromium")
}

type sideBySide struct {
	setupSim, setupTCChrome, setupChrome []time.Duration
	lateTC, lateChrome                   []time.Duration // the patient's candidates 1 s late
	turn                                 turnRuns        // through a TURN server, the patient relay-only
	devices                              deviceRuns      // real devices beside synthetic media
	tc, tcTerm, chrome, bridge           usage
	lipSync                              lipSync
}

// browserPatientArgs are the Chromium patient's settings for the benchmark:
// candidates at once and no photo, the same signalling as the simulated
// patient's, and READY again soon after each call.
var browserPatientArgs = []string{
	"--name", "Manish Pravin Kahane", "--abha", "manishkahane1992@sbx", "--hpr", "ganeshborse@hpr.ndhm",
	"--ready-interval", "300", "--candidate-delay", "0", "--photo-kb", "0",
	"--stats-interval", "3600000", "--rejoin",
}

// setupTeleconsoleSimulated: the console in tmux calls the simulated patient
// (teleconsole patient) runs+1 times; the end is the patient's "first video
// frame decoded" line, timed as it arrives.
func setupTeleconsoleSimulated(b *testing.B, runs int) []time.Duration {
	pane, uri, logPath := startConsole(b)
	out, stop := startSimulatedPatient(b, uri, logPath)
	defer stop()
	var setups []time.Duration
	for i := 0; i <= runs; i++ {
		d := simulatedSetup(b, pane, logPath, out, i+1)
		if i > 0 {
			setups = append(setups, d)
		}
	}
	pane.keys("q")
	return setups
}

// startSimulatedPatient starts the simulated patient of the console at uri
// (whose log is consoleLog), READY again after each call, until stop; its
// lines are timed as they arrive.
func startSimulatedPatient(b *testing.B, uri, consoleLog string) (out *timedLines, stop func()) {
	out = &timedLines{log: filepath.Join(b.TempDir(), "patient.log"), consoleLog: consoleLog}
	pat := exec.Command(binary(b), "patient", "--console", uri, "--listen", freePort(b),
		"--name", "Manish Pravin Kahane", "--abha", "manishkahane1992@sbx", "--hpr", "ganeshborse@hpr.ndhm",
		"--ice-servers", "", "--ready-interval", "300ms", "--rejoin", "--log", out.log)
	pat.Stdout, pat.Stderr = out, out
	if err := pat.Start(); err != nil {
		b.Fatal(err)
	}
	return out, func() {
		_ = pat.Process.Signal(os.Interrupt)
		_ = pat.Wait()
	}
}

// simulatedSetup is the console's nth call to the simulated patient: from
// Enter to the patient's nth "first video frame decoded" line.
func simulatedSetup(b *testing.B, pane *tmuxPane, logPath string, out *timedLines, n int) time.Duration {
	waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
	t0 := time.Now()
	pane.keys("Enter")
	t1 := out.waitNth(b, "first video frame decoded", n, 15*time.Second)
	endConsoleCall(pane, logPath)
	return t1.Sub(t0)
}

// teleconsoleWithChromiumPatient: the console calls the Chromium patient
// runs+1 times for call setup, then holds one call for hold and measures the
// console's process (and, apart, its terminal: the tmux server).
func teleconsoleWithChromiumPatient(b *testing.B, runs int, hold time.Duration) (setups []time.Duration, tc, term usage) {
	pane, uri, logPath := startConsole(b)
	pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, browserPatientArgs...)...)
	defer pt.stop()
	setups = consoleSetups(b, pane, logPath, pt, runs)

	waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 15*time.Second, logPath)
	pid := consolePID(b, pane)
	server := tmuxServerPID(b, pane)
	time.Sleep(2 * time.Second) // past the start of the call
	var wg sync.WaitGroup
	wg.Go(func() { term = measure(func() []int { return []int{server} }, hold) })
	tc = measure(func() []int { return []int{pid} }, hold)
	wg.Wait()
	if !strings.Contains(pane.capture(), "Connected") {
		b.Fatalf("the call did not last the %v measured:\n%s", hold, pane.capture())
	}
	endConsoleCall(pane, logPath)
	pane.keys("q")
	return setups, tc, term
}

// consoleSetups: the console in pane calls the Chromium patient pt runs+1
// times, and returns the setup of each call but the first (a warm-up): from
// Enter to the patient's first decoded frame.
func consoleSetups(b *testing.B, pane *tmuxPane, logPath string, pt *browserPeer, runs int) []time.Duration {
	var setups []time.Duration
	for i := 0; i <= runs; i++ {
		d := chromiumSetup(b, pane, logPath, pt, i+1)
		if i > 0 {
			setups = append(setups, d)
		}
	}
	return setups
}

// chromiumSetup is the console's nth call to the Chromium patient pt: from
// Enter to the patient's first decoded frame of that call.
func chromiumSetup(b *testing.B, pane *tmuxPane, logPath string, pt *browserPeer, n int) time.Duration {
	waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
	t0 := time.Now()
	pane.keys("Enter")
	e := pt.waitNth(b, "the first frame", n, 15*time.Second, func(e peerEvent) bool { return e.Event == "firstFrame" })
	endConsoleCall(pane, logPath)
	return unixMilli(e.FrameAt).Sub(t0)
}

// browserCalls is the Chromium doctor calling the Chromium patient.
type browserCalls struct {
	b       *testing.B
	doc, pt *browserPeer
	readies int // the patient's READYs the doctor had heard at the last call
	calls   int
}

// call waits until the patient is in the waiting room (READY) again, calls
// them, and returns the doctor's "calling" event.
func (c *browserCalls) call() peerEvent {
	ready := isSignal("received", "READY")
	c.doc.waitNth(c.b, "a READY", c.readies+1, 15*time.Second, ready)
	c.readies = c.doc.count(ready)
	c.doc.command("call")
	c.calls++
	return c.doc.waitNth(c.b, "the call", c.calls, 5*time.Second, func(e peerEvent) bool { return e.Event == "calling" })
}

// hangup ends the current call and waits for the patient's BYE.
func (c *browserCalls) hangup() {
	c.doc.command("hangup")
	c.pt.waitNth(c.b, "the BYE", c.calls, 10*time.Second, isSignal("received", "BYE"))
}

// setups makes runs+1 calls and returns the setup of each but the first:
// from the doctor's decision to the patient's first decoded frame.
func (c *browserCalls) setups(runs int) []time.Duration {
	var setups []time.Duration
	firstFrame := func(e peerEvent) bool { return e.Event == "firstFrame" }
	for i := 0; i <= runs; i++ {
		t0 := c.call()
		e := c.pt.waitNth(c.b, "the first frame", c.calls, 15*time.Second, firstFrame)
		if i > 0 {
			setups = append(setups, unixMilli(e.FrameAt).Sub(unixMilli(t0.At)))
		}
		time.Sleep(300 * time.Millisecond)
		c.hangup()
	}
	return setups
}

// chromiumWithChromiumPatient: the browser anchor. The Chromium doctor calls
// the Chromium patient runs+1 times, then holds one call for hold and
// measures the doctor's Chromium (every process under its Node bridge) and,
// apart, the bridge itself.
func chromiumWithChromiumPatient(b *testing.B, runs int, hold time.Duration) (setups []time.Duration, chrome, bridge usage) {
	camera, mic := syntheticMediaFiles(b)
	doc := startBrowserPeer(b, "doctor.mjs", "--candidate-delay", "0", "--stats-interval", "3600000",
		"--camera-file", camera, "--mic-file", mic)
	defer doc.stop()
	uri := doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
	pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, browserPatientArgs...)...)
	defer pt.stop()
	calls := &browserCalls{b: b, doc: doc, pt: pt}
	setups = calls.setups(runs)

	calls.call()
	connected := func(e peerEvent) bool { return e.Event == "state" && e.State == "connected" }
	doc.waitNth(b, "connected", calls.calls, 15*time.Second, connected)
	node := doc.cmd.Process.Pid
	time.Sleep(2 * time.Second)
	var wg sync.WaitGroup
	wg.Go(func() { bridge = measure(func() []int { return []int{node} }, hold) })
	chrome = measure(func() []int { return descendants(node) }, hold)
	wg.Wait()
	calls.hangup()
	if n := pt.count(func(e peerEvent) bool {
		return e.Event == "state" && (e.State == "disconnected" || e.State == "failed")
	}); n > 0 {
		b.Fatalf("a Chromium-to-Chromium call dropped during the benchmark")
	}
	return setups, chrome, bridge
}

// syntheticMediaFiles writes the console's synthetic picture (640x480 at 30
// fps, 4 s, looped by Chromium) and tone as files for the Chromium doctor's
// fake camera and microphone, so both doctors encode the same pictures and
// sound: a VP8 encoder's work depends on how much of the picture moves, and
// Chromium's own fake camera moves far less of it than the console's.
func syntheticMediaFiles(b *testing.B) (camera, mic string) {
	dir := b.TempDir()
	camera, mic = filepath.Join(dir, "doctor.y4m"), filepath.Join(dir, "doctor.wav")
	write := func(path string, fill func(*os.File) error) {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := cmp.Or(fill(f), f.Close()); err != nil {
			b.Fatalf("%s: %v", path, err)
		}
	}
	write(camera, func(f *os.File) error { return call.WriteSyntheticVideo(f, 640, 480, 30, 120) })
	write(mic, func(f *os.File) error { return call.WriteSyntheticTone(f, 4*time.Second) })
	return camera, mic
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// spread is "median ms (min to max)".
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "not measured"
	}
	s := slices.Sorted(slices.Values(d))
	return fmt.Sprintf("%.0f ms (%.0f to %.0f)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// table writes the side-by-side table, with the machine and the date.
func (r *sideBySide) table(b testing.TB, hold time.Duration) string {
	bench := readBenchOut(os.Getenv("TELECONSOLE_BENCH_OUT"))
	var w strings.Builder
	fmt.Fprintf(&w, "Machine: %s; %d cores; %s; %s; %s; %s\n\n",
		cpuModel(), runtime.NumCPU(), memTotal(), runtime.Version(), chromiumVersion(), time.Now().Format("2006-01-02"))
	fmt.Fprintln(&w, "| what | teleconsole | Chromium (libwebrtc) | target | verdict |")
	fmt.Fprintln(&w, "|---|---|---|---|---|")
	worst := max(median(r.setupSim), median(r.setupTCChrome))
	fmt.Fprintf(&w, "| call setup: doctor's action to the patient's first decoded frame, candidates at once, median (min to max) of %d | with the simulated patient %s; with the Chromium patient %s | Chromium doctor with the Chromium patient %s | < 300 ms | %s |\n",
		len(r.setupSim), spread(r.setupSim), spread(r.setupTCChrome), spread(r.setupChrome), verdict(worst > 0 && worst < 300*time.Millisecond))
	fmt.Fprintf(&w, "| call setup, patient's candidates 1 s late (as the patients' app posts them), median (min to max) of %d | with the Chromium patient %s | Chromium doctor with the Chromium patient %s | < 300 ms | %s |\n",
		len(r.lateTC), spread(r.lateTC), spread(r.lateChrome), verdict(median(r.lateTC) > 0 && median(r.lateTC) < 300*time.Millisecond))
	r.turn.rows(&w, r.lateTC)
	r.devices.rows(&w)
	r.lipSync.rows(&w)
	fmt.Fprintf(&w, "| doctor side's CPU per call second, %v call with the Chromium patient | %.2f CPU-s/s (its terminal, tmux, %.3f more) | %.2f CPU-s/s (all Chromium processes; its Node signalling bridge %.3f more) | at most half the browser's | %s |\n",
		hold, r.tc.cpu, r.tcTerm.cpu, r.chrome.cpu, r.bridge.cpu, verdict(r.tc.cpu+r.tcTerm.cpu <= r.chrome.cpu/2))
	fmt.Fprintf(&w, "| doctor side's peak memory (PSS, all its processes), same call | %.0f MB (tmux %.0f MB more) | %.0f MB (the bridge %.0f MB more) | at most half the browser's | %s |\n",
		r.tc.peakMB, r.tcTerm.peakMB, r.chrome.peakMB, r.bridge.peakMB, verdict(r.tc.peakMB+r.tcTerm.peakMB <= r.chrome.peakMB/2))
	for _, row := range []struct{ name, what, target string }{
		{"BenchmarkOnMessageUnsigned", "`on_message` unsigned, loopback HTTP, 32 clients", ""},
		{"BenchmarkOnMessageSigned", "`on_message` signed and verified, same set-up", "3,000 req/s, p99 < 20 ms"},
	} {
		m, ok := bench[row.name]
		cell := "not run (make bench runs the uhiclient benchmarks first)"
		met := ""
		if ok {
			cell = fmt.Sprintf("%.0f req/s; p99 %.1f ms", m["req/s"], m["p99-ms"])
			if row.target != "" {
				met = verdict(m["req/s"] >= 3000 && m["p99-ms"] < 20)
			}
		}
		fmt.Fprintf(&w, "| %s | %s | | %s | %s |\n", row.what, cell, row.target, met)
	}
	for _, row := range []struct {
		name, what, target string
		limit              float64
	}{
		{"BenchmarkTerminalBytes/video_off", "terminal bytes per second, call screen at 80x24, video hidden", "< 2 KB/s", 2048},
		{"BenchmarkTerminalBytes/video_on", "the same with the patient's video drawn (10 fps, 256 colours)", "< 20 KB/s", 20480},
	} {
		m, ok := bench[row.name]
		cell, met := "not run (make bench runs the ui benchmark first)", ""
		if ok {
			cell, met = fmt.Sprintf("%.1f KB/s", m["B/s"]/1024), verdict(m["B/s"] < row.limit)
		}
		fmt.Fprintf(&w, "| %s | %s | | %s | %s |\n", row.what, cell, row.target, met)
	}
	off, hasOff := bench["BenchmarkPictureModes/off/120x40/local"]
	for _, mode := range []string{"kitty", "iterm2", "sixel", "blocks"} {
		for _, where := range []string{"local", "ssh"} {
			m, ok := bench["BenchmarkPictureModes/"+mode+"/120x40/"+where]
			if !ok {
				continue
			}
			what := fmt.Sprintf("the patient's picture, `--video %s`, 120x40, %s terminal", mode, map[string]string{"local": "local", "ssh": "SSH (200 KB/s budget)"}[where])
			cell := fmt.Sprintf("%.0f KB/s, %.1f pictures/s, %.2f CPU-s/s", m["B/s"]/1000, m["pictures/s"], m["cpu-s/s"])
			target, met := "", ""
			switch {
			case mode == "blocks":
			case where == "ssh":
				target, met = "<= 200 KB/s, >= 2 pictures/s", verdict(m["B/s"] <= 200_000 && m["pictures/s"] >= 2)
			default:
				target, met = ">= 10 pictures/s", verdict(m["pictures/s"] >= 10)
			}
			if hasOff && mode != "blocks" {
				cell += fmt.Sprintf(" (video off: %.2f)", off["cpu-s/s"])
				if where == "local" {
					target += "; CPU at most 0.05 above video off"
					met = verdict(m["pictures/s"] >= 10 && m["cpu-s/s"]-off["cpu-s/s"] <= 0.05)
				}
			}
			fmt.Fprintf(&w, "| %s | %s | | %s | %s |\n", what, cell, target, met)
		}
	}
	return w.String()
}

// readBenchOut reads "go test -bench" output: benchmark name (without the
// -GOMAXPROCS suffix) to its metrics by unit.
func readBenchOut(path string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				m[fields[i+1]] = v
			}
		}
		out[name] = m
	}
	return out
}

func cpuModel() string {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	raw, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "memory unknown"
}

func chromiumVersion() string {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "Chromium unknown"
	}
	return strings.Join(strings.Fields(string(out))[:2], " ")
}

// lipSync is what lipSyncCalls measured: each list holds one offset per sync
// mark, audio minus video where the receiver presents them (positive: the
// sound is late).
type lipSync struct {
	tcToChrome, chromeToTC, chromeToChrome []time.Duration
	// tcVideoLatency is, for the console's marks at the Chromium patient,
	// how long after its capture the flash was presented: the console's
	// marks are on the machine's clock (whole multiples of 2 s since the
	// Unix epoch), the one the page's times are on too. The sound's is
	// this plus the offset.
	tcVideoLatency []time.Duration
	// tcByPlayout is the console's marks at the Chromium patient again,
	// with the sound timed not by the page's meter but by libwebrtc's own
	// estimate of what it plays (the audio receiver's
	// estimatedPlayoutTimestamp, read as the meter finds the click): the
	// click's capture instant plus the delay that estimate gives. It needs
	// no correction for the meter's latency, and checks it.
	tcByPlayout []time.Duration
	// tcFalseOnsets counts the console's marks left out of tcToChrome
	// because the meter put their sound before their capture.
	tcFalseOnsets int
	// preview is the Chromium senders' own camera against their own
	// microphone, in their preview. Chromium's fake camera and fake
	// microphone start and loop their files each on its own, which puts a
	// skew of their own (tens to hundreds of ms, moving at each loop) in
	// everything such a sender sends; the Chromium-sent directions are given
	// less the sender's preview offset of the same mark.
	preview []time.Duration
	// meterLatency is what the patient page's own meter adds to the sound's
	// time: its AudioContext's base and output latency, which the sound
	// passes through only to be measured (getOutputTimestamp gives the
	// instant the meter's own output would be heard). A Chromium sender's
	// preview goes through the same meter, so its correction removes this
	// from the Chromium-sent figures; the console's direction has no
	// preview, so it is removed from it here, to compare like with like.
	meterLatency time.Duration
	// detail is each mark as the receiver wrote it down, for the record of
	// a run (BenchmarkLipSync prints it): the pages' lines with what
	// libwebrtc knew of the mark, the console's log lines.
	detail []string
}

// syncMark is one mark measured: its offset, and when the picture's flash
// was presented.
type syncMark struct {
	offset time.Duration
	video  time.Time
}

// lipSyncMarks is how many marks (one every 2 s) each direction measures,
// after lipSyncSettle marks left for the receivers' jitter buffers and
// audio-video sync to settle at the start of the call.
const lipSyncMarks, lipSyncSettle = 10, 2

// syncMarkPeriod is the time between two sync marks (call/syncmark.go).
const syncMarkPeriod = 2 * time.Second

// lipSyncClip is how long the Chromium peers' clips are in the lip-sync
// calls: each loop of the 4 s clips moved the fake camera's marks about 50
// ms against the fake microphone's, and longer files make the camera start
// later (a 40 s clip, 553 MB, about 400 ms after the microphone).
const lipSyncClip = 12 * time.Second

// lipSyncCalls measures lip sync in two calls with the Chromium
// patient playing the console's synthetic clips (with their sync marks):
// the console calls it, and the patient's page measures the console's marks
// while the console's log says what it measured of the patient's; then the
// Chromium doctor, playing the same clips, calls it. Each Chromium peer also
// measures its own preview.
func lipSyncCalls(b *testing.B) lipSync {
	camera, mic := lipSyncMediaFiles(b)
	args := append(slices.Clone(browserPatientArgs), "--camera-file", camera, "--mic-file", mic, "--lip-sync")
	remote := func(e peerEvent) bool { return e.Event == "sync" && e.Type == "remote" }
	local := func(e peerEvent) bool { return e.Event == "sync" && e.Type == "local" }
	// Room for marks a meter misses on a loaded machine (it pairs a flash
	// and a click only when they are less than a second apart).
	const wait = (lipSyncMarks+lipSyncSettle+16)*2*time.Second + 15*time.Second
	need := lipSyncMarks + lipSyncSettle

	pane, uri, logPath := startConsole(b)
	pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, args...)...)
	waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 15*time.Second, logPath)
	waitMarks(b, pt, need, wait, remote)
	// The console logs its own marks as it measures them; they may lag the
	// page's by a mark.
	deadline := time.Now().Add(4 * time.Second)
	for len(consoleSyncMarks(logPath)) < need && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	tcSnapshot := pt.snapshot()
	tcToChrome := pageSyncMarks(tcSnapshot, remote)
	meterLatency := pageMeterLatency(b, pt.snapshot())
	chromeToTC := consoleSyncMarks(logPath)
	patientPreview := pageSyncMarks(pt.snapshot(), local)
	endConsoleCall(pane, logPath)
	pane.keys("q")
	pt.stop()

	doc := startBrowserPeer(b, "doctor.mjs", "--candidate-delay", "0", "--stats-interval", "3600000",
		"--camera-file", camera, "--mic-file", mic, "--lip-sync")
	defer doc.stop()
	uri = doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
	pt = startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, args...)...)
	defer pt.stop()
	calls := &browserCalls{b: b, doc: doc, pt: pt}
	calls.call()
	waitMarks(b, pt, need, wait, remote)
	ccSnapshot := pt.snapshot()
	chromeToChrome := pageSyncMarks(ccSnapshot, remote)
	doctorPreview := pageSyncMarks(doc.snapshot(), local)
	calls.hangup()

	var r lipSync
	r.meterLatency = meterLatency
	for _, m := range settled(tcToChrome) {
		// The console's marks are captured on whole 2 s of the clock the
		// page's times are on: a sound heard before it was captured is an
		// onset the meter found in something else.
		captured := m.video.Add(-time.Duration(m.video.UnixNano() % int64(syncMarkPeriod)))
		if m.video.Add(m.offset - meterLatency).Before(captured) {
			r.tcFalseOnsets++
			continue
		}
		r.tcToChrome = append(r.tcToChrome, m.offset)
	}
	for _, m := range tcToChrome {
		r.tcVideoLatency = append(r.tcVideoLatency, time.Duration(m.video.UnixNano()%int64(syncMarkPeriod)))
	}
	r.tcVideoLatency = settled(r.tcVideoLatency)
	var byPlayout []time.Duration
	for _, e := range tcSnapshot {
		if remote(e) {
			byPlayout = append(byPlayout, playoutOffset(e.Text))
		}
	}
	for _, d := range settled(byPlayout) {
		if d != noPlayout {
			r.tcByPlayout = append(r.tcByPlayout, d)
		}
	}
	r.chromeToTC = settled(lessPreview(chromeToTC, patientPreview))
	r.chromeToChrome = settled(lessPreview(chromeToChrome, doctorPreview))
	r.preview = append(offsets(patientPreview), offsets(doctorPreview)...)
	for _, d := range []struct {
		what   string
		events []peerEvent
	}{{"console → Chromium", tcSnapshot}, {"Chromium → Chromium", ccSnapshot}} {
		for _, e := range d.events {
			if remote(e) {
				r.detail = append(r.detail, d.what+": "+e.Text)
			}
		}
	}
	for _, m := range chromeToTC {
		r.detail = append(r.detail, fmt.Sprintf("Chromium → console: offset %+.1f ms, video at %d", ms(m.offset), m.video.UnixMilli()))
	}
	return r
}

// waitMarks waits for need marks at pt, and settles for fewer, as long as
// some are measured past the settling ones: on a loaded machine a meter
// misses marks (a flash and a click more than a second apart are not
// paired), and the row says how many it has.
func waitMarks(b *testing.B, pt *browserPeer, need int, wait time.Duration, match func(peerEvent) bool) {
	b.Helper()
	deadline := time.Now().Add(wait)
	for {
		seen := 0
		for _, e := range pt.snapshot() {
			if match(e) {
				seen++
			}
		}
		if seen >= need {
			return
		}
		if time.Now().After(deadline) {
			if seen > lipSyncSettle {
				b.Logf("%s: %d lip-sync marks of %d within %v", pt.name, seen, need, wait)
				return
			}
			pt.waitNth(b, "lip-sync marks", need, 0, match) // fails with the page's events
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled drops the marks of the call's start and keeps lipSyncMarks.
func settled[T any](d []T) []T {
	if len(d) <= lipSyncSettle {
		return nil
	}
	return d[lipSyncSettle:min(len(d), lipSyncSettle+lipSyncMarks)]
}

func offsets(marks []syncMark) []time.Duration {
	out := make([]time.Duration, len(marks))
	for i, m := range marks {
		out[i] = m.offset
	}
	return out
}

// lessPreview takes from each mark a receiver measured the sender's preview
// offset of the same mark: the one the sender presented last before the
// receiver did (within a second: marks are 2 s apart). It drops the marks
// it finds none for, and those whose difference is half a second or more:
// there a meter paired a flash with the click of the next or the last mark
// (it pairs marks less than a second apart, and a fake camera's skew moves
// by hundreds of milliseconds in a call).
func lessPreview(received, preview []syncMark) []time.Duration {
	var out []time.Duration
	for _, m := range received {
		var best *syncMark
		for i := range preview {
			p := &preview[i]
			if d := m.video.Sub(p.video); d > -100*time.Millisecond && d < time.Second && (best == nil || p.video.After(best.video)) {
				best = p
			}
		}
		if best != nil && absDur(m.offset-best.offset) < 500*time.Millisecond {
			out = append(out, m.offset-best.offset)
		}
	}
	return out
}

// lipSyncMediaFiles writes the synthetic picture (640x480 at 30 fps) and
// tone as clips of lipSyncClip for the Chromium peers of the lip-sync calls.
func lipSyncMediaFiles(b *testing.B) (camera, mic string) {
	dir := b.TempDir()
	camera, mic = filepath.Join(dir, "lipsync.y4m"), filepath.Join(dir, "lipsync.wav")
	for _, f := range []struct {
		path string
		fill func(*os.File) error
	}{
		{camera, func(f *os.File) error {
			return call.WriteSyntheticVideo(f, 640, 480, 30, int(lipSyncClip/time.Second)*30)
		}},
		{mic, func(f *os.File) error { return call.WriteSyntheticTone(f, lipSyncClip) }},
	} {
		out, err := os.Create(f.path)
		if err != nil {
			b.Fatal(err)
		}
		if err := cmp.Or(f.fill(out), out.Close()); err != nil {
			b.Fatalf("%s: %v", f.path, err)
		}
	}
	return camera, mic
}

// pageSyncMarks reads a page's sync events, in order. The page writes each
// one in the event's text ("audio-video offset 12.3 ms, video at UNIXMS").
func pageSyncMarks(events []peerEvent, match func(peerEvent) bool) []syncMark {
	var out []syncMark
	for _, e := range events {
		var off, at float64
		if match(e) {
			if _, err := fmt.Sscanf(e.Text, "audio-video offset %g ms, video at %g", &off, &at); err == nil {
				out = append(out, syncMark{time.Duration(off * float64(time.Millisecond)), unixMilli(at)})
			}
		}
	}
	return out
}

// noPlayout marks a mark the page had no playout estimate for.
const noPlayout = time.Duration(math.MinInt64)

// ntpUnixMillis is the milliseconds from the NTP epoch (1900) to the Unix one.
const ntpUnixMillis = 2208988800000

// playoutOffset is a console mark's offset at the Chromium patient with the
// sound timed by libwebrtc's playout estimate (lipSync.tcByPlayout), from
// the page's line: the mark's capture instant is the whole 2 s before the
// flash was presented (the console's marks fall on the machine's clock).
func playoutOffset(text string) time.Duration {
	var off, video, playout, at float64
	if _, err := fmt.Sscanf(text, "audio-video offset %g ms, video at %g", &off, &video); err != nil {
		return noPlayout
	}
	_, rest, ok := strings.Cut(text, "click playout-ntp ")
	if !ok {
		return noPlayout
	}
	if _, err := fmt.Sscanf(rest, "%g at %g", &playout, &at); err != nil || playout == 0 {
		return noPlayout
	}
	period := float64(syncMarkPeriod / time.Millisecond)
	captured := video - math.Mod(video, period)
	heard := captured + at - (playout - ntpUnixMillis)
	return time.Duration((heard - video) * float64(time.Millisecond))
}

// consoleSyncMarks reads the console log's "lip sync" lines, in order.
func consoleSyncMarks(logPath string) []syncMark {
	raw, _ := os.ReadFile(logPath)
	var out []syncMark
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.Contains(l, `msg="lip sync"`) {
			continue
		}
		off, err1 := strconv.ParseFloat(logField(l, "offset_ms"), 64)
		at, err2 := strconv.ParseInt(logField(l, "video_at"), 10, 64)
		if err1 == nil && err2 == nil {
			out = append(out, syncMark{time.Duration(off * float64(time.Millisecond)), time.UnixMicro(at)})
		}
	}
	return out
}

// logField is the value of key=value in a log line, or "".
func logField(line, key string) string {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

// syncSpread is "median ms (worst ms; n marks)", the worst being the offset
// farthest from zero.
func syncSpread(d []time.Duration) string {
	if len(d) == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%+.0f ms (worst %+.0f; %d marks)", ms(median(d)), ms(worstOffset(d)), len(d))
}

func worstOffset(d []time.Duration) time.Duration {
	var w time.Duration
	for _, v := range d {
		if absDur(v) > absDur(w) {
			w = v
		}
	}
	return w
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// rows writes the lip-sync row of the side-by-side table. The target is
// the console's sound and picture at a Chromium patient: every mark within
// ±45 ms, and its median no farther from zero than the Chromium doctor's.
func (r lipSync) rows(w *strings.Builder) {
	atMeter := make([]time.Duration, len(r.tcToChrome))
	for i, d := range r.tcToChrome {
		atMeter[i] = d - r.meterLatency
	}
	// Met when every settled mark of the console's is within ±45 ms, and
	// its worst is no worse than the worst of Chromium's own (medians
	// differ by less than the page's frame step, 16.7 ms, run to run).
	met := len(atMeter) > 0 && len(r.chromeToChrome) > 0 &&
		absDur(worstOffset(atMeter)) <= 45*time.Millisecond &&
		absDur(worstOffset(atMeter)) <= absDur(worstOffset(r.chromeToChrome))
	fmt.Fprintf(w, "| lip sync: audio minus video where the receiver presents them (+: sound late), median (worst) of the sync marks; Chromium-sent less the sender's own preview offset, console-sent less the page meter's own audio latency (%.0f ms) | console → Chromium patient %s (%s; as the meter reads it, with its latency: %s; with the sound timed by libwebrtc's own playout estimate: %s; picture presented %.0f ms after capture, sound %.0f ms); Chromium patient → console %s | Chromium doctor → Chromium patient %s (a Chromium sender's own preview: %s) | ±45 ms at the Chromium patient, no worse than Chromium → Chromium | %s |\n",
		ms(r.meterLatency), syncSpread(atMeter), falseOnsets(r.tcFalseOnsets), syncSpread(r.tcToChrome), syncSpread(r.tcByPlayout), ms(median(r.tcVideoLatency)),
		ms(median(r.tcVideoLatency)+median(r.tcToChrome)-r.meterLatency),
		syncSpread(r.chromeToTC), syncSpread(r.chromeToChrome), syncSpread(r.preview), verdict(met))
}

// falseOnsets says how many marks the meter misread.
func falseOnsets(n int) string {
	return fmt.Sprintf("%d left out, their sound found before its capture", n)
}

// meterLatencyRE reads the page meter's report of its AudioContext.
var meterLatencyRE = regexp.MustCompile(`sync meter \(remote\): .*base latency ([0-9.]+) ms, output latency ([0-9.]+) ms, output clock yes`)

// markLatencyRE reads the meter's latency from a remote mark's line.
var markLatencyRE = regexp.MustCompile(`; meter latency ([0-9.]+) ms`)

// pageMeterLatency is the base plus output latency of the page's remote
// meter: what getOutputTimestamp puts on each sound's time. The marks' own
// lines give it as it was at each (the median of them); the meter's first
// report, made as its AudioContext started, sometimes still had an output
// latency of 0 (10 ms in all, where the marks then read 40).
func pageMeterLatency(b *testing.B, events []peerEvent) time.Duration {
	var atMarks []time.Duration
	for _, e := range events {
		if m := markLatencyRE.FindStringSubmatch(e.Text); e.Event == "sync" && e.Type == "remote" && m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			atMarks = append(atMarks, time.Duration(v*float64(time.Millisecond)))
		}
	}
	if len(atMarks) > 0 {
		return median(atMarks)
	}
	for _, e := range events {
		if m := meterLatencyRE.FindStringSubmatch(e.Text); e.Event == "log" && m != nil {
			base, _ := strconv.ParseFloat(m[1], 64)
			out, _ := strconv.ParseFloat(m[2], 64)
			return time.Duration((base + out) * float64(time.Millisecond))
		}
	}
	b.Fatal("the patient page did not report its meter's latency (\"sync meter (remote)\" with an output clock)")
	return 0
}
