package systest

import (
	"bytes"
	bin "encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real sound server for the audio tests: Debian's PulseAudio, started by
// the test with a runtime directory of its own, and two null sinks standing
// in for the doctor's devices. "speaker" is the default sink (what the
// console plays can be recorded from its monitor); "mic" is a sink the test
// plays into, and "microphone", the default source, records its monitor (a
// source of its own rather than the monitor itself, because Chromium lists
// no monitors among its microphones). The sinks run at the console's own
// format, 48 kHz mono.

// pulseRate is the sinks' sample rate.
const pulseRate = 48000

// pulseServer is one running daemon and the environment that reaches it.
type pulseServer struct {
	t   testing.TB
	dir string
	env []string // PULSE_* and XDG_RUNTIME_DIR for the processes that use it
	cmd *exec.Cmd
}

// pulseDevices are the modules of the test's sound server: the speaker,
// the microphone's sink and the microphone, the defaults.
var pulseDevices = []string{
	"load-module module-null-sink sink_name=speaker " + pulseSink + " sink_properties=device.description=Speaker",
	"load-module module-null-sink sink_name=mic " + pulseSink + " sink_properties=device.description=Microphone",
	"load-module module-remap-source master=mic.monitor source_name=microphone source_properties=device.description=Microphone",
	"set-default-sink speaker",
	"set-default-source microphone",
}

// pulseSink is the null sinks' format.
var pulseSink = fmt.Sprintf("rate=%d channels=1 format=s16le", pulseRate)

// startPulse starts a PulseAudio daemon for the test with pulseDevices and
// stops it at the end. Missing programs are a failure with what to
// install, never a skip.
func startPulse(t testing.TB) *pulseServer {
	t.Helper()
	return startPulseWith(t, pulseDevices, "Default Source: microphone")
}

// startPulseWith starts a PulseAudio daemon that runs commands (default.pa
// lines) once it listens, ready when its pactl info holds ready.
func startPulseWith(t testing.TB, commands []string, ready string) *pulseServer {
	t.Helper()
	for _, prog := range []string{"pulseaudio", "pactl", "parec", "pacat"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("%s is needed for the sound tests (make test-deps installs pulseaudio and pulseaudio-utils): %v", prog, err)
		}
	}
	// A short path: the daemon's socket must fit in sun_path.
	dir, err := os.MkdirTemp("", "tc-pulse-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "default.pa")
	conf := strings.Join(append(append([]string{"load-module module-native-protocol-unix"}, commands...), ""), "\n")
	if err := os.WriteFile(script, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &pulseServer{t: t, dir: dir, env: []string{
		"XDG_RUNTIME_DIR=" + dir,
		"PULSE_RUNTIME_PATH=" + dir,
		"PULSE_SERVER=unix:" + filepath.Join(dir, "native"),
		"PULSE_COOKIE=" + filepath.Join(dir, "cookie"),
	}}
	// As root (this machine and CI) PulseAudio warns and runs as a user
	// daemon: --system=false. It never exits on its own while the test runs.
	p.cmd = exec.Command("pulseaudio", "-n", "-F", script,
		"--system=false", "--daemonize=false", "--exit-idle-time=-1", "--disallow-exit",
		"--use-pid-file=false", "--log-target=file:"+filepath.Join(dir, "log"))
	p.cmd.Env = p.environ()
	p.cmd.Env = append(p.cmd.Env, "HOME="+dir)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start pulseaudio: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("pulseaudio log:\n%s", tail(string(log), 30))
		}
		_ = os.RemoveAll(dir)
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := p.command("pactl", "info").CombinedOutput()
		if err == nil && bytes.Contains(out, []byte(ready)) {
			return p
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("pulseaudio exited at start:\n%s", tail(string(log), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pulseaudio not ready after 10 s: %v: %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// environ is this process's environment with the server's variables in
// place of any the machine had.
func (p *pulseServer) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PULSE_") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	return append(env, p.env...)
}

// command is a pulseaudio-utils program aimed at this server.
func (p *pulseServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = p.environ()
	return cmd
}

// pactl runs pactl and returns its output, failing the test on an error.
func (p *pulseServer) pactl(args ...string) string {
	p.t.Helper()
	out, err := p.command("pactl", args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("pactl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// unloadModule unloads the server's module called name (the first one
// whose arguments hold each of args).
func (p *pulseServer) unloadModule(name string, args ...string) {
	p.t.Helper()
	for _, l := range strings.Split(p.pactl("list", "short", "modules"), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[1] != name {
			continue
		}
		all := true
		for _, a := range args {
			all = all && strings.Contains(l, a)
		}
		if all {
			p.pactl("unload-module", f[0])
			return
		}
	}
	p.t.Fatalf("no module %s %s loaded", name, strings.Join(args, " "))
}

// run runs default.pa commands ("load-module ...", "set-default-sink ...")
// with pactl.
func (p *pulseServer) run(commands ...string) {
	p.t.Helper()
	for _, c := range commands {
		p.pactl(strings.Fields(c)...)
	}
}

// play plays pcm (48 kHz mono) into sink until the test ends, looping.
func (p *pulseServer) play(sink string, pcm []int16) {
	p.t.Helper()
	cmd := p.command("pacat", "--playback", "-d", sink, "--raw", "--format=s16le",
		fmt.Sprintf("--rate=%d", pulseRate), "--channels=1", "--latency-msec=20")
	in, err := cmd.StdinPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("pacat: %v", err)
	}
	raw := pcmBytes(pcm)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := in.Write(raw); err != nil {
				return
			}
		}
	}()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = in.Close()
		_ = cmd.Wait()
		<-done
	})
}

// record records source for d and returns what it heard, 48 kHz mono.
func (p *pulseServer) record(source string, d time.Duration) []int16 {
	p.t.Helper()
	cmd := p.command("parec", "-d", source, "--raw", "--format=s16le",
		fmt.Sprintf("--rate=%d", pulseRate), "--channels=1", "--latency-msec=20")
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("parec: %v", err)
	}
	raw := make([]byte, 2*int(d.Seconds()*pulseRate))
	_, err = io.ReadFull(out, raw)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil {
		p.t.Fatalf("parec %s: %v", source, err)
	}
	pcm := make([]int16, len(raw)/2)
	for i := range pcm {
		pcm[i] = int16(bin.LittleEndian.Uint16(raw[2*i:]))
	}
	return pcm
}

func pcmBytes(pcm []int16) []byte {
	raw := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		bin.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	return raw
}

// tone is d of a sine at hz, amplitude amp of full scale.
func tone(hz, amp float64, d time.Duration) []int16 {
	pcm := make([]int16, int(d.Seconds()*pulseRate))
	for i := range pcm {
		pcm[i] = int16(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/pulseRate))
	}
	return pcm
}

// syllables cuts pcm into 300 ms bursts with 200 ms pauses, rising and
// falling over 20 ms.
func syllables(pcm []int16) []int16 {
	out := make([]int16, len(pcm))
	const on, period, ramp = pulseRate * 3 / 10, pulseRate / 2, pulseRate / 50
	for i, v := range pcm {
		k := i % period
		if k >= on {
			continue
		}
		g := math.Min(1, math.Min(float64(k), float64(on-k))/ramp)
		out[i] = int16(g * float64(v))
	}
	return out
}

// rms is the root mean square of pcm, in sample units (full scale 32767).
func rms(pcm []int16) float64 {
	var sq float64
	for _, v := range pcm {
		sq += float64(v) * float64(v)
	}
	return math.Sqrt(sq / math.Max(1, float64(len(pcm))))
}

// toneShare is the share of pcm's power at hz, 0 to 1: Goertzel over 20 ms
// blocks (50 Hz wide, so a tone a little off hz, or a glitch in the
// recording, still counts), summed over the blocks.
func toneShare(pcm []int16, hz float64) float64 {
	const block = pulseRate / 50
	c := 2 * math.Cos(2*math.Pi*hz/pulseRate)
	var at, total float64
	for start := 0; start+block <= len(pcm); start += block {
		var s1, s2 float64
		for _, v := range pcm[start : start+block] {
			x := float64(v)
			total += x * x
			s1, s2 = x+c*s1-s2, s1
		}
		// A pure sine of N samples has |X|^2 = (A N / 2)^2 and power A^2 N / 2.
		at += (s1*s1 + s2*s2 - c*s1*s2) * 2 / block
	}
	if total == 0 {
		return 0
	}
	return at / total
}

// writeWAV writes pcm as a 48 kHz mono 16-bit WAV file (Chromium's fake
// microphone plays such files).
func writeWAV(t testing.TB, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	data := pcmBytes(pcm)
	le := bin.LittleEndian
	b.WriteString("RIFF")
	_ = bin.Write(&b, le, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(pulseRate), uint32(2 * pulseRate), uint16(2), uint16(16)} {
		_ = bin.Write(&b, le, v) // PCM, mono, 48 kHz, 2 bytes a frame, 16 bits
	}
	b.WriteString("data")
	_ = bin.Write(&b, le, uint32(len(data)))
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPulseHarness: the daemon starts, what is played into the microphone
// sink comes out of the default source, at the tone played.
func TestPulseHarness(t *testing.T) {
	p := startPulse(t)
	if got := p.pactl("get-default-source"); got != "microphone" {
		t.Fatalf("default source %q, want microphone", got)
	}
	p.play("mic", tone(1000, 0.3, time.Second))
	time.Sleep(300 * time.Millisecond)
	got := p.record("microphone", time.Second)
	if r := rms(got); r < 0.2*32767*0.3 {
		t.Fatalf("the monitor heard RMS %.0f of the tone played at %.0f", r, 0.3*32767/math.Sqrt2)
	}
	if s := toneShare(got, 1000); s < 0.8 {
		t.Fatalf("the source's sound is %.2f of the power at 1 kHz, want most of it", s)
	}
	if s := toneShare(got, 1500); s > 0.05 {
		t.Fatalf("the source's sound is %.2f of the power at 1.5 kHz, where nothing was played", s)
	}
}
