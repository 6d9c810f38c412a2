package systest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkPictureModes runs the real console in a call with the simulated
// patient for each way of drawing the picture (--video), at 80x24 and
// 120x40, on a local terminal and on one the console takes for remote
// (SSH_CONNECTION set, so the 200 KB/s budget holds), and reports what it
// writes to the terminal (tmux's pipe-pane copies the pane's output as the
// program wrote it), how many pictures a second that is, and the console's
// CPU per call second. The pictures go to tmux, which draws none of them:
// what is measured is the console's side.
func BenchmarkPictureModes(b *testing.B) {
	bin := binary(b)
	for _, mode := range []string{"off", "blocks", "sixel", "kitty", "iterm2"} {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			for _, where := range []string{"local", "ssh"} {
				if (mode == "blocks" || mode == "off") && where == "ssh" {
					continue // no budget applies to half blocks
				}
				b.Run(fmt.Sprintf("%s/%dx%d/%s", mode, size[0], size[1], where), func(b *testing.B) {
					var bps, fps, cpu, width float64
					for range b.N {
						r := pictureRun(b, bin, mode, size[0], size[1], where == "ssh", 6*time.Second)
						bps, fps, cpu, width = bps+r.bps, fps+r.fps, cpu+r.cpu, width+r.width
					}
					n := float64(b.N)
					b.ReportMetric(bps/n, "B/s")
					b.ReportMetric(fps/n, "pictures/s")
					b.ReportMetric(cpu/n, "cpu-s/s")
					if mode == "kitty" {
						b.ReportMetric(width/n, "px-wide")
					}
				})
			}
		}
	}
}

// pictureRate is what a mode wrote: bytes and pictures a second, the
// console's CPU per second, and for kitty the pictures' mean width in
// pixels (320 at full size).
type pictureRate struct{ bps, fps, cpu, width float64 }

// kittyWidths returns the width (s=) of every kitty picture in out.
func kittyWidths(out []byte) []int {
	var ws []int
	for _, m := range kittyOptions.FindAllSubmatch(out, -1) {
		opts := strings.Split(string(m[1]), ",")
		if !slices.Contains(opts, "a=T") {
			continue // a later chunk, or a deletion
		}
		for _, o := range opts {
			if v, ok := strings.CutPrefix(o, "s="); ok {
				if w, err := strconv.Atoi(v); err == nil {
					ws = append(ws, w)
				}
			}
		}
	}
	return ws
}

// kittyOptions finds a kitty graphics command's options.
var kittyOptions = regexp.MustCompile(`\x1b_G([^;\x1b]*)`)

// pictureStart is how each picture of a mode begins on the wire.
var pictureStart = map[string]string{
	"sixel":  "\x1bP0;1;0q",
	"kitty":  "a=T",
	"iterm2": "\x1b]1337;File=",
}

func pictureRun(b *testing.B, bin, mode string, w, h int, remote bool, span time.Duration) pictureRate {
	b.Helper()
	dir := b.TempDir()
	addr := freePort(b)
	logPath := filepath.Join(dir, "console.log")
	env := []string{"TERM=xterm-256color", "TMUX=", "SSH_CONNECTION=", "SSH_TTY="}
	if remote {
		env = append(env, "SSH_CONNECTION=10.0.0.2 50000 10.0.0.1 22")
	}
	pane := startTmux(b, w, h, env, bin, "--listen", addr, "--hpr", testDoctor, "--ice-servers", "",
		"--media", "synthetic", "--verify", "off", "--log", logPath, "--video", mode)
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	out := filepath.Join(dir, "pane.out")
	if msg, err := pane.tmux("pipe-pane", "-O", "-t", pane.name, "cat > "+out).CombinedOutput(); err != nil {
		b.Fatalf("pipe-pane: %v: %s", err, msg)
	}
	startPatient(b, bin, "http://"+addr+"/api/v1", freePort(b))
	waitRow(b, pane, "Manish Pravin Kahane", "waiting", logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 15*time.Second, logPath)
	time.Sleep(3 * time.Second) // frames decoded, the picture placed and drawn
	pid := consolePID(b, pane)
	cpu0, _ := procCPU(pid)
	before, _ := os.ReadFile(out)
	t0 := time.Now()
	time.Sleep(span)
	cpu1, _ := procCPU(pid)
	after, _ := os.ReadFile(out)
	el := time.Since(t0).Seconds()
	if len(after) < len(before) {
		b.Fatalf("pipe-pane output shrank")
	}
	window := after[len(before):]
	r := pictureRate{bps: float64(len(window)) / el, cpu: (cpu1 - cpu0).Seconds() / el}
	if start, ok := pictureStart[mode]; ok {
		r.fps = float64(bytes.Count(window, []byte(start))) / el
		if r.fps == 0 {
			b.Fatalf("no %s picture written in %.0f s; screen:\n%s", mode, el, pane.capture())
		}
		if ws := kittyWidths(window); mode == "kitty" && len(ws) > 0 {
			sum := 0
			for _, w := range ws {
				sum += w
			}
			r.width = float64(sum) / float64(len(ws))
			b.Logf("kitty picture widths: %v", ws)
		}
	}
	if !strings.Contains(pane.capture(), "video "+mode) {
		b.Errorf("the status bar does not say video %s:\n%s", mode, pane.capture())
	}
	return r
}
