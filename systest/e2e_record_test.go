package systest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The record and the chat, end to end: the real console in tmux and the
// simulated patient in its own process, chatting in the reference apps'
// format (docs/protocol.md §7), then teleconsole history reading what the
// consultation left behind.

// chatKeys makes the doctor's chat key in dataDir and the patient's in a
// file of its own, and writes the console's key file; it returns the
// doctor's public key, the patient's key pair file and the key file.
func chatKeys(t *testing.T, bin, dataDir string) (doctorKey, patientKeyFile, keysFile string) {
	t.Helper()
	out, err := exec.Command(bin, "chat-key", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("teleconsole chat-key: %v", err)
	}
	doctorKey = strings.TrimSpace(string(out))
	pdir := t.TempDir()
	out, err = exec.Command(bin, "chat-key", "--data-dir", pdir).Output()
	if err != nil {
		t.Fatalf("teleconsole chat-key: %v", err)
	}
	keysFile = filepath.Join(t.TempDir(), "patients.json")
	body := fmt.Sprintf(`{"manishkahane1992@sbx": %s}`, strings.TrimSpace(string(out)))
	if err := os.WriteFile(keysFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return doctorKey, filepath.Join(pdir, "chat-key.json"), keysFile
}

// writePicture writes a PNG of 160x120 pixels, its top half in one colour
// and its bottom half in another, and returns its path.
func writePicture(t *testing.T, name string, top, bottom color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			c := top
			if y >= 60 {
				c = bottom
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sgrColour finds the 256-colour palette indices in an SGR sequence, and
// sgr the sequences in a line.
var (
	sgrColour = regexp.MustCompile(`[34]8;5;(\d+)`)
	sgr       = regexp.MustCompile(`\x1b\[[0-9;]*m`)
)

// waitColours waits until the pane's video area (rows 4 to 13 and columns
// 1 to 40, where the picture viewer draws at 80x24 with the chat pane
// open) has many cells in each of the palette colours want: the picture
// in half blocks.
func waitColours(t *testing.T, pane *tmuxPane, logPath, what string, want ...int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var counts map[int]int
	for time.Now().Before(deadline) {
		lines := strings.Split(pane.captureStyled(), "\n")
		counts = map[int]int{}
		for y := 4; y < 14 && y < len(lines); y++ {
			// Each run of cells of one colour is one sequence: count
			// the cells by the text up to the next sequence.
			// the cells by the text up to the next sequence, in the
			// Patient video box only (columns 1 to 40), not the stats
			// beside it.
			parts, seqs := sgr.Split(lines[y], -1), sgr.FindAllString(lines[y], -1)
			col := len([]rune(parts[0]))
			for i, seq := range seqs {
				from := col
				col += len([]rune(parts[i+1]))
				cells := max(0, min(col, 41)-max(from, 1))
				for _, m := range sgrColour.FindAllStringSubmatch(seq, -1) {
					n, _ := strconv.Atoi(m[1])
					counts[n] += cells
				}
			}
		}
		ok := true
		for _, c := range want {
			if counts[c] < 20 {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	logText, _ := os.ReadFile(logPath)
	t.Fatalf("%s: colours %v not in the video area (cells by colour %v):\n%s\nconsole log tail:\n%s",
		what, want, counts, pane.capture(), tail(string(logText), 30))
}

// history is teleconsole history --format json on dataDir.
func history(t *testing.T, bin, dataDir string) []map[string]any {
	t.Helper()
	out, err := exec.Command(bin, "history", "--data-dir", dataDir, "--format", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("teleconsole history: %v: %s", err, out)
	}
	var list []map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("history JSON: %v:\n%s", err, out)
	}
	return list
}

// escape presses Escape and waits as a person would before the next key: a
// key straight after Escape reaches the console as that key with Alt.
func escape(pane *tmuxPane) {
	pane.keys("Escape")
	time.Sleep(300 * time.Millisecond)
}

func TestEndToEndChatAndRecord(t *testing.T) {
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	doctorKey, patientKey, keysFile := chatKeys(t, bin, dataDir)
	pane, uri, logPath := startConsoleIn(t, dataDir, "--chat-keys", keysFile)
	// The picture of the rash sent in the chat, red on blue, and the
	// patient's own photo in their READY, green on yellow.
	photo := writePicture(t, "rash.png", color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255})
	face := writePicture(t, "face.png", color.RGBA{0, 255, 0, 255}, color.RGBA{255, 255, 0, 255})
	_, patientOut := startPatient(t, bin, uri, freePort(t),
		"--chat-key", patientKey, "--doctor-chat-key", doctorKey,
		"--say", "my camera is broken", "--send-file", photo, "--photo", face)
	c := &consultation{pane: pane, logPath: logPath, bin: bin, consoleURI: uri, patientOut: patientOut}
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	if strings.Contains(pane.capture(), "NOT RECORDING") {
		t.Errorf("the console says it is not recording:\n%s", pane.capture())
	}

	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	// The patient's text, opened, and their photo, kept.
	pane.waitFor("my camera is broken", 10*time.Second, logPath)
	pane.waitFor("[file] rash.png", 10*time.Second, logPath)

	// The photo shown: o opens it over the video area, in half blocks in
	// tmux, its two colours in the cells of the area (the 256-colour
	// palette's 196 red and 21 blue); esc brings the video back.
	pane.keys("o")
	pane.waitFor("rash.png (esc closes)", 10*time.Second, logPath)
	waitColours(t, pane, logPath, "the rash's picture", 196, 21)
	escape(pane)
	pane.waitFor("Patient video", 5*time.Second, logPath)
	// And i the patient's photo from their READY (46 green, 226 yellow).
	pane.keys("i")
	pane.waitFor("Photo of Manish Pravin Kahane", 10*time.Second, logPath)
	waitColours(t, pane, logPath, "the patient's photo", 46, 226)
	escape(pane)
	pane.waitFor("Patient video", 5*time.Second, logPath)

	// The doctor's reply, encrypted on the way.
	pane.keys("t")
	pane.keys("-l", "take it twice a day")
	pane.keys("Enter")
	c.waitPatientSaw(t, "chat received (encrypted): take it twice a day", 10*time.Second)
	pane.waitFor("[sent]", 10*time.Second, logPath)
	escape(pane)
	// A PDF sent.
	pdf := filepath.Join(t.TempDir(), "prescription.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\nparacetamol 500 mg twice a day\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pane.keys("a")
	pane.keys("-l", pdf)
	pane.keys("Enter")
	c.waitPatientSaw(t, "file received: prescription.pdf application/pdf", 10*time.Second)
	// Notes.
	pane.keys("n")
	pane.keys("-l", "rash on the left arm")
	time.Sleep(300 * time.Millisecond)
	escape(pane)

	time.Sleep(2 * time.Second) // a call of some length
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pane.keys("Escape")
	pane.waitFor("Waiting room (", 10*time.Second, logPath)
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)

	list := history(t, bin, dataDir)
	if len(list) != 1 {
		t.Fatalf("%d consultations in the history, want 1: %v", len(list), list)
	}
	h := list[0]
	length, _ := h["length_ns"].(float64)
	if h["end_reason"] != "ended by doctor" || h["state"] != "ended" || time.Duration(length) < 2*time.Second ||
		h["notes"] != "rash on the left arm" {
		t.Errorf("consultation: end %v, state %v, length %v, notes %q", h["end_reason"], h["state"], time.Duration(length), h["notes"])
	}
	var chat []string
	for _, m := range h["chat"].([]any) {
		m := m.(map[string]any)
		chat = append(chat, fmt.Sprintf("%v %v %v %v", m["direction"], m["content_type"], m["text"], m["encrypted"]))
	}
	want := []string{"in text my camera is broken true", "in media rash.png false", "out text take it twice a day true", "out media prescription.pdf false"}
	if strings.Join(chat, "\n") != strings.Join(want, "\n") {
		t.Errorf("chat in the record:\n%s\nwant\n%s", strings.Join(chat, "\n"), strings.Join(want, "\n"))
	}
	// The patient's photo from their READY, kept with the call, and the
	// two files of the chat.
	files, _ := h["file_list"].([]any)
	var kinds []string
	for _, f := range files {
		f := f.(map[string]any)
		kinds = append(kinds, fmt.Sprintf("%v %v %v", f["kind"], f["name"], f["mime_type"]))
	}
	if want := "photo photo.jpg image/jpeg,media rash.png image/png,media prescription.pdf application/pdf"; strings.Join(kinds, ",") != want {
		t.Fatalf("files %v, want %s", kinds, want)
	}
	for _, f := range files {
		f := f.(map[string]any)
		path, _ := f["path"].(string)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 || !strings.HasPrefix(path, dataDir) || len(f["sha256"].(string)) != 64 {
			t.Errorf("file %v: %v %v", f, fi, err)
		}
	}
}

// TestEndToEndKilledMidCall: the console killed (SIGKILL, no chance to
// close) during a call leaves its record readable, the consultation marked
// interrupted and the chat so far kept.
func TestEndToEndKilledMidCall(t *testing.T) {
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	doctorKey, patientKey, keysFile := chatKeys(t, bin, dataDir)
	pane, uri, logPath := startConsoleIn(t, dataDir, "--chat-keys", keysFile)
	startPatient(t, bin, uri, freePort(t), "--chat-key", patientKey, "--doctor-chat-key", doctorKey, "--say", "it hurts here")
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	pane.waitFor("it hurts here", 10*time.Second, logPath)
	time.Sleep(500 * time.Millisecond) // the writer's turn: well under a human's pace
	pid := consolePID(t, pane)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The shell reaps it; the TUI left no room on the screen to read that.
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("console %d still running after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}

	list := history(t, bin, dataDir)
	if len(list) != 1 {
		t.Fatalf("%d consultations, want 1", len(list))
	}
	h := list[0]
	chat, _ := h["chat"].([]any)
	if h["state"] != "interrupted" || len(chat) != 1 || chat[0].(map[string]any)["text"] != "it hurts here" || h["call_started"] == nil {
		t.Fatalf("after the kill: %v", h)
	}
}

// TestEndToEndRecordOff: with --record off the console says on screen that
// it is not recording, still shows what the patient sends, and writes no
// record: no database and no files in the data directory (the doctor's
// chat key is all it keeps there).
func TestEndToEndRecordOff(t *testing.T) {
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	pane, uri, logPath := startConsoleIn(t, dataDir, "--record", "off")
	photo := writePicture(t, "rash.png", color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255})
	_, _ = startPatient(t, bin, uri, freePort(t), "--say", "my camera is broken", "--send-file", photo)
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pane.waitFor("NOT RECORDING", 5*time.Second, logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	pane.waitFor("my camera is broken", 10*time.Second, logPath)
	pane.waitFor("[file] rash.png", 10*time.Second, logPath)
	pane.waitFor("NOT RECORDING", 5*time.Second, logPath)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	var kept []string
	_ = filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && path != dataDir {
			kept = append(kept, strings.TrimPrefix(path, dataDir+string(filepath.Separator)))
		}
		return nil
	})
	for _, name := range kept {
		if name != "chat-key.json" {
			t.Errorf("--record off wrote %s in the data directory (all: %v)", name, kept)
		}
	}
}
