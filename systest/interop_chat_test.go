package systest

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"teleconsole/uhiclient"
)

// sealedRE is the reference apps' encrypted text, byte for byte: jsonEncode
// of three integer lists in this order, no spaces, a 16-byte nonce and a
// 32-byte MAC (docs/protocol.md §7).
var sealedRE = regexp.MustCompile(`^\{"cipher_text":\[(\d{1,3}(,\d{1,3})*)?\],"nonce":\[\d{1,3}(,\d{1,3}){15}\],"mac_bytes":\[\d{1,3}(,\d{1,3}){31}\]\}$`)

// TestInteropChromiumPatientChat: Chromium plays the patient, encrypting
// and decrypting in the page with WebCrypto, and the doctor chats with it
// from the real console during a call, both ways.
func TestInteropChromiumPatientChat(t *testing.T) {
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	out, err := exec.Command(bin, "chat-key", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("teleconsole chat-key: %v", err)
	}
	doctorKey := strings.TrimSpace(string(out))
	patient, err := uhiclient.NewChatKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(t.TempDir(), "patients.json")
	if err := os.WriteFile(keysFile, []byte(fmt.Sprintf(`{"manishkahane1992@sbx": %s}`, patient.Public)), 0o600); err != nil {
		t.Fatal(err)
	}
	pane, uri, logPath := startConsoleIn(t, dataDir, "--chat-keys", keysFile)
	pt := startBrowserPeer(t, "patient.mjs",
		"--console", uri,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", testDoctor,
		"--ready-interval", "1000",
		"--chat-private", patient.Private.String(),
		"--doctor-chat-key", doctorKey,
		"--say", "my camera is broken, can you see me",
	)
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pt.waitEvent("the doctor's ACK", 10*time.Second, isSignal("received", "ACK"))
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)

	// Chromium to the console: sealed in the page, opened by the console.
	sent := pt.waitEvent("the patient's chat sent", 15*time.Second, func(e peerEvent) bool { return e.Event == "chatSent" })
	if !sealedRE.MatchString(sent.Value) {
		t.Errorf("the page's box is not the reference apps' format: %s", sent.Value)
	}
	pane.waitFor("my camera is broken, can you see me", 10*time.Second, logPath)

	// The console to Chromium: sealed by the console, MAC checked and
	// opened in the page.
	pane.keys("t")
	pane.keys("-l", "yes, I can see you; please move closer")
	pane.keys("Enter")
	got := pt.waitEvent("the doctor's chat", 10*time.Second, func(e peerEvent) bool { return e.Event == "chat" || e.Event == "chatError" })
	if got.Event != "chat" || got.Text != "yes, I can see you; please move closer" || !got.Encrypted {
		t.Fatalf("the page got %v", got)
	}
	if !sealedRE.MatchString(got.Value) {
		t.Errorf("the console's box is not the reference apps' format: %s", got.Value)
	}
	pane.waitFor("[sent]", 10*time.Second, logPath)
}
