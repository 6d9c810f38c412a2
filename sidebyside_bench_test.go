package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// issue 5 to $TELECONSOLE_BENCH_TABLE (make bench prints it):
//
//   - call setup, the doctor's action to the patient's first decoded frame,
//     candidates sent at once: teleconsole doctor with the simulated patient,
//     with the Chromium patient, and the Chromium doctor with the Chromium
//     patient (the browser anchor);
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
	b.ReportMetric(r.tc.cpu, "cpu-s/s-teleconsole")
	b.ReportMetric(r.chrome.cpu, "cpu-s/s-chromium")
}

type sideBySide struct {
	setupSim, setupTCChrome, setupChrome []time.Duration
	tc, tcTerm, chrome, bridge           usage
}

// usage is what a set of processes used during a call.
type usage struct {
	cpu     float64 // CPU seconds per call second
	peakMB  float64 // peak of the summed PSS
	samples int
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
	pane, uri, logPath := startInteropConsole(b)
	out := &timedLines{log: filepath.Join(b.TempDir(), "patient.log"), consoleLog: logPath}
	pat := exec.Command(binary(b), "patient", "--console", uri, "--listen", freePort(b),
		"--name", "Manish Pravin Kahane", "--abha", "manishkahane1992@sbx", "--hpr", "ganeshborse@hpr.ndhm",
		"--ice-servers", "", "--loopback-candidates", "--ready-interval", "300ms", "--rejoin", "--log", out.log)
	pat.Stdout, pat.Stderr = out, out
	if err := pat.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = pat.Process.Signal(os.Interrupt)
		_ = pat.Wait()
	}()
	var setups []time.Duration
	for i := 0; i <= runs; i++ {
		waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
		t0 := time.Now()
		pane.keys("Enter")
		t1 := out.waitNth(b, "first video frame decoded", i+1, 15*time.Second)
		if i > 0 {
			setups = append(setups, t1.Sub(t0))
		}
		endConsoleCall(pane, logPath)
	}
	pane.keys("q")
	return setups
}

// teleconsoleWithChromiumPatient: the console calls the Chromium patient
// runs+1 times for call setup, then holds one call for hold and measures the
// console's process (and, apart, its terminal: the tmux server).
func teleconsoleWithChromiumPatient(b *testing.B, runs int, hold time.Duration) (setups []time.Duration, tc, term usage) {
	pane, uri, logPath := startInteropConsole(b)
	pt := startBrowserPeer(b, "patient.mjs", append([]string{"--console", uri}, browserPatientArgs...)...)
	defer pt.stop()
	firstFrame := func(e peerEvent) bool { return e.Event == "firstFrame" }
	for i := 0; i <= runs; i++ {
		waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
		t0 := time.Now()
		pane.keys("Enter")
		e := pt.waitNth(b, "the first frame", i+1, 15*time.Second, firstFrame)
		if i > 0 {
			setups = append(setups, unixMilli(e.FrameAt).Sub(t0))
		}
		endConsoleCall(pane, logPath)
	}

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
	ready := isSignal("received", "READY")
	calling := func(e peerEvent) bool { return e.Event == "calling" }
	firstFrame := func(e peerEvent) bool { return e.Event == "firstFrame" }
	readies := 0
	call := func(n int) peerEvent {
		// The patient is in the waiting room (READY) again before each call.
		doc.waitNth(b, "a READY", readies+1, 15*time.Second, ready)
		readies = doc.count(ready)
		doc.command("call")
		return doc.waitNth(b, "the call", n, 5*time.Second, calling)
	}
	for i := 0; i <= runs; i++ {
		t0 := call(i + 1)
		e := pt.waitNth(b, "the first frame", i+1, 15*time.Second, firstFrame)
		if i > 0 {
			setups = append(setups, unixMilli(e.FrameAt).Sub(unixMilli(t0.At)))
		}
		time.Sleep(300 * time.Millisecond)
		doc.command("hangup")
		pt.waitNth(b, "the BYE", i+1, 10*time.Second, isSignal("received", "BYE"))
	}

	call(runs + 2)
	connected := func(e peerEvent) bool { return e.Event == "state" && e.State == "connected" }
	doc.waitNth(b, "connected", runs+2, 15*time.Second, connected)
	node := doc.cmd.Process.Pid
	time.Sleep(2 * time.Second)
	var wg sync.WaitGroup
	wg.Go(func() { bridge = measure(func() []int { return []int{node} }, hold) })
	chrome = measure(func() []int { return descendants(node) }, hold)
	wg.Wait()
	doc.command("hangup")
	pt.waitNth(b, "the BYE", runs+2, 10*time.Second, isSignal("received", "BYE"))
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

// endConsoleCall hangs up on the console and goes back to the waiting room.
func endConsoleCall(pane *tmuxPane, logPath string) {
	time.Sleep(300 * time.Millisecond)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pane.keys("Enter")
}

// waitRow waits until the waiting room lists name in state.
func waitRow(b testing.TB, pane *tmuxPane, name, state, logPath string) {
	b.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		screen := pane.capture()
		if strings.Contains(screen, "Waiting room (") {
			for _, l := range strings.Split(screen, "\n") {
				if strings.Contains(l, name) && strings.Contains(l, " "+state+" ") {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	logText, _ := os.ReadFile(logPath)
	b.Fatalf("the waiting room never listed %s as %s; screen:\n%s\nlog tail:\n%s", name, state, pane.capture(), tail(string(logText), 30))
}

// consolePID is the teleconsole process under the pane's shell.
func consolePID(b testing.TB, pane *tmuxPane) int {
	out, err := pane.tmux("list-panes", "-t", pane.name, "-F", "#{pane_pid}").Output()
	if err != nil {
		b.Fatal(err)
	}
	shell, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	for _, pid := range descendants(shell) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "teleconsole" {
			return pid
		}
	}
	b.Fatalf("no teleconsole process under the pane's shell %d", shell)
	return 0
}

func tmuxServerPID(b testing.TB, pane *tmuxPane) int {
	out, err := pane.tmux("display-message", "-p", "#{pid}").Output()
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

// measure samples the processes pids() names every 250 ms for d: CPU time
// used (each process from its first sample to its last) per second of d,
// and the peak of their summed proportional set size.
func measure(pids func() []int, d time.Duration) usage {
	first, last := map[int]time.Duration{}, map[int]time.Duration{}
	var u usage
	start := time.Now()
	for {
		var pss int
		for _, pid := range pids() {
			cpu, ok := procCPU(pid)
			if !ok {
				continue
			}
			if _, seen := first[pid]; !seen {
				first[pid] = cpu
				if u.samples > 0 {
					first[pid] = 0 // started during the call: all of it counts
				}
			}
			last[pid] = cpu
			pss += procPSSKB(pid)
		}
		u.peakMB = max(u.peakMB, float64(pss)/1024)
		u.samples++
		if time.Since(start) >= d {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	var cpu time.Duration
	for pid, c := range last {
		cpu += c - first[pid]
	}
	u.cpu = cpu.Seconds() / time.Since(start).Seconds()
	return u
}

// procCPU is a process's user and system CPU time (/proc/PID/stat).
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(raw, ')')
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, true
}

// procPSSKB is a process's proportional set size: its own pages, and its
// share of those it shares (Chromium's processes share a lot).
func procPSSKB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "Pss:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// descendants lists every process below root.
func descendants(root int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// timedLines keeps a child process's output lines with the time each
// arrived.
type timedLines struct {
	log        string // the process's log file, shown when a wait fails
	consoleLog string // and the console's
	mu         sync.Mutex
	partial    []byte
	lines      []string
	at         []time.Time
}

func (l *timedLines) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.at = append(l.at, now)
		l.partial = l.partial[i+1:]
	}
}

// waitNth waits for the nth line containing s and returns when it arrived.
func (l *timedLines) waitNth(b testing.TB, s string, n int, d time.Duration) time.Time {
	b.Helper()
	deadline := time.Now().Add(d)
	for {
		l.mu.Lock()
		seen := 0
		for i, line := range l.lines {
			if strings.Contains(line, s) {
				if seen++; seen == n {
					at := l.at[i]
					l.mu.Unlock()
					return at
				}
			}
		}
		all := strings.Join(l.lines, "\n")
		l.mu.Unlock()
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(l.log)
			consoleText, _ := os.ReadFile(l.consoleLog)
			b.Fatalf("the patient printed %q %d times, not %d, within %v:\n%s\npatient log tail:\n%s\nconsole log tail:\n%s",
				s, seen, n, d, tail(all, 60), tail(string(logText), 40), tail(string(consoleText), 40))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// count is how many of the peer's events match.
func (p *browserPeer) count(match func(peerEvent) bool) int {
	n := 0
	for _, e := range p.snapshot() {
		if match(e) {
			n++
		}
	}
	return n
}

// waitNth waits for the nth event that matches.
func (p *browserPeer) waitNth(b testing.TB, what string, n int, d time.Duration, match func(peerEvent) bool) peerEvent {
	b.Helper()
	deadline := time.Now().Add(d)
	for {
		seen := 0
		for _, e := range p.snapshot() {
			if match(e) {
				if seen++; seen == n {
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %s seen %d times, not %d, within %v; events:\n%s\nstderr:\n%s",
				p.name, what, seen, n, d, p.dump(30), tail(p.stderr.String(), 20))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func unixMilli(ms float64) time.Time {
	return time.UnixMicro(int64(ms * 1000))
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
