package systest

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real terminal that shows pixels: xterm as a VT340 (sixel) under Xvfb,
// the console in it, a screenshot of the X screen.

// xDisplay is an Xvfb server of the test's own.
type xDisplay struct {
	name string // ":N"
}

// startXvfb starts Xvfb on a display it picks itself (-displayfd) and stops
// it at the end of the test.
func startXvfb(t *testing.T, w, h int) *xDisplay {
	t.Helper()
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{wr}
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("Xvfb (make test-deps installs xvfb): %v", err)
	}
	wr.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
		r.Close()
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb gave no display: %s", errOut.String())
		}
		return &xDisplay{name: ":" + n}
	case <-time.After(10 * time.Second):
		t.Fatalf("Xvfb did not start: %s", errOut.String())
	}
	return nil
}

// run runs an X client on the display and returns its output.
func (d *xDisplay) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screenshot saves the whole X screen as a PNG and decodes it.
func (d *xDisplay) screenshot(t *testing.T, path string) image.Image {
	t.Helper()
	d.run(t, "import", "-window", "root", path)
	return decodePNG(t, path)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// testCard is the still picture the patient's camera shows: gradients, a
// face-coloured disc and saturated patches, and no black, so that the
// picture stands out from the terminal's black background.
func testCard() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			c := color.RGBA{uint8(60 + x*160/640), uint8(70 + y*140/480), uint8(150 - (x+y)*60/1120), 255}
			if dx, dy := x-320, y-220; dx*dx+dy*dy < 140*140 {
				c = color.RGBA{228, uint8(180 - dy/8), 150, 255}
			}
			if x > 40 && x < 140 && y > 360 && y < 440 {
				c = color.RGBA{210, 40, 40, 255}
			}
			if x > 500 && x < 600 && y > 40 && y < 120 {
				c = color.RGBA{40, 60, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// TestEndToEndXtermSixel runs the console in xterm as a VT340, calls a
// simulated patient whose camera shows a still test card, and compares the
// video region of a screenshot with the frame the console decoded, which
// the snapshot key saved at that moment.
func TestEndToEndXtermSixel(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xterm", "import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make test-deps installs xvfb, xterm, imagemagick and xdotool): %v", tool, err)
		}
	}
	bin := binary(t)
	dir := t.TempDir()
	// TELECONSOLE_SHOTS keeps the screenshots (and the test card) to look
	// at after the run.
	if keep := os.Getenv("TELECONSOLE_SHOTS"); keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = keep
	}
	card := filepath.Join(dir, "card.png")
	f, err := os.Create(card)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, testCard()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	x := startXvfb(t, 1280, 900)
	addr := freePort(t)
	logPath := filepath.Join(t.TempDir(), "console.log")
	dataHome := t.TempDir()
	term := exec.Command("xterm", "-ti", "vt340", "-fn", "10x20", "-geometry", "120x40+0+0",
		"-bg", "black", "-fg", "white",
		"-xrm", "XTerm*numColorRegisters: 256", "-xrm", "XTerm*allowSendEvents: true",
		"-e", bin, "--listen", addr, "--hpr", testDoctor, "--ice-servers", "",
		"--media", "synthetic", "--verify", "off", "--log", logPath)
	term.Env = append(os.Environ(), "DISPLAY="+x.name, "XDG_DATA_HOME="+dataHome)
	var termOut syncBuffer
	term.Stdout, term.Stderr = &termOut, &termOut
	if err := term.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = term.Process.Kill()
		_ = term.Wait()
		if t.Failed() {
			logText, _ := os.ReadFile(logPath)
			t.Logf("xterm output:\n%s\nconsole log tail:\n%s", termOut.String(), tail(string(logText), 40))
		}
	})
	waitFile(t, logPath, "console starting", 15*time.Second)
	window := ""
	for deadline := time.Now().Add(10 * time.Second); window == "" && time.Now().Before(deadline); {
		cmd := exec.Command("xdotool", "search", "--class", "xterm")
		cmd.Env = append(os.Environ(), "DISPLAY="+x.name)
		out, _ := cmd.Output()
		window, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
		time.Sleep(100 * time.Millisecond)
	}
	if window == "" {
		t.Fatal("no xterm window")
	}
	key := func(k string) { x.run(t, "xdotool", "key", "--window", window, k) }

	uri := "http://" + addr + "/api/v1"
	c := &consultation{logPath: logPath, bin: bin, consoleURI: uri}
	// The card is the patient's camera, and their photo in READY too.
	c.patient, c.patientOut = startPatient(t, bin, uri, freePort(t), "--picture", card, "--photo", card)
	c.waitPatientSaw(t, "ACK received", 15*time.Second)
	time.Sleep(1500 * time.Millisecond) // the waiting room reads the room once a second
	x.screenshot(t, filepath.Join(dir, "waiting.png"))

	key("Return")
	c.waitPatientSaw(t, "call Connected", 15*time.Second)
	time.Sleep(3 * time.Second) // the first frames decoded, the picture placed, then drawn at the next sample

	key("s")
	snaps := filepath.Join(dataHome, "teleconsole", "snapshots")
	shot := x.screenshot(t, filepath.Join(dir, "call.png"))
	var snapPath string
	for deadline := time.Now().Add(5 * time.Second); snapPath == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(snaps, "manishkahane1992@sbx_*.png")); len(m) == 1 {
			snapPath = m[0]
		}
	}
	if snapPath == "" {
		t.Fatalf("no snapshot in %s", snaps)
	}
	if st, err := os.Stat(snapPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot %s: mode %v (%v), want 0600: it shows a patient", snapPath, st.Mode().Perm(), err)
	}
	snap := decodePNG(t, snapPath)
	t.Logf("screenshots in %s; snapshot %s is %v", dir, filepath.Base(snapPath), snap.Bounds().Size())

	// The Patient video panel's inside, at 10x20-pixel cells: columns 1 to
	// 70, rows 4 to 34 (xterm's 2-pixel border aside).
	region := bbox(shot, image.Rect(12, 82, 712, 700))
	if region.Dx() < 320 || region.Dy() < 240 {
		t.Fatalf("picture on screen is %v, want at least 320x240: sixel not drawn (screenshot %s)", region, filepath.Join(dir, "call.png"))
	}
	if got, want := float64(region.Dx())/float64(region.Dy()), 4.0/3; math.Abs(got-want) > 0.02 {
		t.Errorf("picture on screen %v has aspect %.3f, want 4:3", region, got)
	}
	p := psnrScaled(shot, region, snap)
	t.Logf("picture on screen %v, PSNR %.1f dB against the decoded frame", region, p)
	if p < 25 {
		t.Errorf("PSNR %.1f dB, want at least 25", p)
	}

	// Help covers the call screen: the picture goes with it.
	key("question")
	time.Sleep(time.Second)
	help := x.screenshot(t, filepath.Join(dir, "help.png"))
	if r := bbox(help, image.Rect(12, 82, 712, 700)); r.Dx() > 100 && r.Dy() > 100 {
		if lit := litFraction(help, r); lit > 0.5 {
			t.Errorf("the picture is still on screen under help: %v, %.0f%% lit", r, lit*100)
		}
	}

	// The patient's photo from their READY, over the video area, in
	// sixel: the card again, as the console kept it (fitted, JPEG).
	key("question")
	time.Sleep(time.Second)
	key("i")
	time.Sleep(2 * time.Second) // read, fitted, placed, drawn after the cells
	photo := x.screenshot(t, filepath.Join(dir, "photo.png"))
	region = bbox(photo, image.Rect(12, 82, 712, 700))
	if region.Dx() < 320 || region.Dy() < 240 {
		t.Fatalf("photo on screen is %v, want at least 320x240: not drawn (screenshot %s)", region, filepath.Join(dir, "photo.png"))
	}
	if got, want := float64(region.Dx())/float64(region.Dy()), 4.0/3; math.Abs(got-want) > 0.02 {
		t.Errorf("photo on screen %v has aspect %.3f, want 4:3", region, got)
	}
	p = psnrScaled(photo, region, testCard())
	t.Logf("photo on screen %v, PSNR %.1f dB against the card", region, p)
	if p < 25 {
		t.Errorf("photo PSNR %.1f dB, want at least 25", p)
	}
}

// waitFile waits until the file at path contains want.
func waitFile(t *testing.T, path, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never said %q; tail:\n%s", path, want, tail(string(b), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bbox is the bounding box of the pixels within r brighter than the
// terminal's black background.
func bbox(img image.Image, r image.Rectangle) image.Rectangle {
	var out image.Rectangle
	first := true
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if (cr>>8)+(cg>>8)+(cb>>8) < 90 {
				continue
			}
			p := image.Rect(x, y, x+1, y+1)
			if first {
				out, first = p, false
			} else {
				out = out.Union(p)
			}
		}
	}
	return out
}

// litFraction is the share of r's pixels brighter than the background.
func litFraction(img image.Image, r image.Rectangle) float64 {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if (cr>>8)+(cg>>8)+(cb>>8) >= 90 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

// psnrScaled compares region of shot with ref scaled to the region's size
// (each region pixel against the mean of the ref pixels it covers), in dB
// over the RGB channels.
func psnrScaled(shot image.Image, region image.Rectangle, ref image.Image) float64 {
	rb := ref.Bounds()
	w, h := region.Dx(), region.Dy()
	var sum float64
	for y := range h {
		y0, y1 := rb.Min.Y+y*rb.Dy()/h, rb.Min.Y+max((y+1)*rb.Dy()/h, y*rb.Dy()/h+1)
		for x := range w {
			x0, x1 := rb.Min.X+x*rb.Dx()/w, rb.Min.X+max((x+1)*rb.Dx()/w, x*rb.Dx()/w+1)
			var mr, mg, mb, n float64
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					r, g, b, _ := ref.At(xx, yy).RGBA()
					mr, mg, mb, n = mr+float64(r>>8), mg+float64(g>>8), mb+float64(b>>8), n+1
				}
			}
			sr, sg, sb, _ := shot.At(region.Min.X+x, region.Min.Y+y).RGBA()
			for _, d := range []float64{float64(sr>>8) - mr/n, float64(sg>>8) - mg/n, float64(sb>>8) - mb/n} {
				sum += d * d
			}
		}
	}
	mse := sum / float64(3*w*h)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}
