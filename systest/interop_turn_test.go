package systest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"teleconsole/internal/turntest"
)

// startTURN starts a TURN server (pion/turn) on loopback in the test's
// process, and writes its certificate where a child trusting it (the
// console, for turns:) can read it through SSL_CERT_FILE.
func startTURN(t testing.TB) (srv *turntest.Server, certFile string) {
	t.Helper()
	srv, err := turntest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	certFile = filepath.Join(t.TempDir(), "turn-ca.pem")
	if err := os.WriteFile(certFile, srv.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, certFile
}

// turnFlags are a peer's flags for one TURN URL and policy; the console and
// the interop scripts take the same.
func turnFlags(srv *turntest.Server, transport, policy string) []string {
	return []string{"--ice-servers", srv.URL(transport), "--turn-user", turntest.User,
		"--turn-password", turntest.Password, "--ice-transport-policy", policy}
}

// The call screen's Network panel: "path   host->relay" and
// "relay  127.0.0.1:54321 patient's".
var (
	screenPathRE  = regexp.MustCompile(`path\s+(\S+->\S+)`)
	screenRelayRE = regexp.MustCompile(`relay\s+(\d+\.\d+\.\d+\.\d+:\d+) (ours|patient's)`)
)

// TestInteropTURN: calls through a TURN server with the Chromium patient
// allowed only relay candidates, with the console allowed only relay
// candidates (reaching the server over TCP), and with both (the console over
// TLS). The console's screen names the pair and the relay; the TURN
// server's counts show that the allocation on the screen (and the
// Chromium side's own, where it has one on its path) carried the media, and
// any other only connectivity checks.
func TestInteropTURN(t *testing.T) {
	srv, certFile := startTURN(t)
	for _, tc := range []struct {
		name             string
		console, patient []string
		path, whose      string
	}{
		{"Chromium patient relay-only", turnFlags(srv, "udp", "all"), turnFlags(srv, "udp", "relay"), "host->relay", "patient's"},
		{"console relay-only over TCP", turnFlags(srv, "tcp", "relay"), nil, "relay->host", "ours"},
		{"both relay-only, the console over TLS", turnFlags(srv, "tls", "relay"), turnFlags(srv, "udp", "relay"), "relay->relay", "ours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pane, uri, logPath := startConsoleWith(t, []string{"SSL_CERT_FILE=" + certFile}, tc.console...)
			args := append(append([]string{"--console", uri}, browserPatientArgs...), "--stats-interval", "500")
			pt := startBrowserPeer(t, "patient.mjs", append(args, tc.patient...)...)
			waitRow(t, pane, "Manish Pravin Kahane", "waiting", logPath)
			pane.keys("Enter")
			pane.waitFor("Connected", 20*time.Second, logPath)
			got := pt.waitEvent("the console's media decoded by Chromium", 20*time.Second, mediaFlows)

			// The screen shows the pair (a remote side learnt from checks
			// first may take a second to show its signalled type).
			var screen, relay string
			deadline := time.Now().Add(10 * time.Second)
			for {
				screen = pane.capture()
				p, r := screenPathRE.FindStringSubmatch(screen), screenRelayRE.FindStringSubmatch(screen)
				if p != nil && p[1] == tc.path && r != nil && r[2] == tc.whose {
					relay = r[1]
					break
				}
				if time.Now().After(deadline) {
					logText, _ := os.ReadFile(logPath)
					t.Fatalf("the screen never showed path %s through a relay (%s); screen:\n%s\nlog tail:\n%s",
						tc.path, tc.whose, screen, tail(string(logText), 30))
				}
				time.Sleep(200 * time.Millisecond)
			}
			logText, _ := os.ReadFile(logPath)
			if !regexp.MustCompile(`msg="selected pair[^"]*".*relay=` + regexp.QuoteMeta(relay)).Match(logText) {
				t.Errorf("the console's log has no selected-pair line with relay=%s:\n%s", relay, tail(string(logText), 30))
			}

			// What went where in the next 2 s.
			onPath := []string{relay}
			if local, _, ok := strings.Cut(got.Path, " -> "); ok && strings.HasPrefix(local, "relay ") {
				onPath = append(onPath, strings.TrimPrefix(local, "relay "))
			}
			if srv.Allocation(relay) == nil {
				t.Fatalf("the screen's relay %s is none of the TURN server's allocations %v", relay, srv.Allocations())
			}
			before := map[string]int64{}
			for _, a := range srv.Allocations() {
				before[a.Relay] = a.Packets()
			}
			time.Sleep(2 * time.Second)
			for _, a := range srv.Allocations() {
				carried := a.Packets() - before[a.Relay]
				on := slices.Contains(onPath, a.Relay)
				t.Logf("allocation %v: %d packets in 2 s; on the path: %v", a, carried, on)
				switch {
				case on && carried < 200:
					t.Errorf("allocation %s on the path carried %d packets in 2 s: too few for a call's media", a.Relay, carried)
				case !on && carried > 50:
					t.Errorf("allocation %s off the path carried %d packets in 2 s: media", a.Relay, carried)
				}
			}
			t.Logf("console: %s via %s (%s); Chromium: %s", tc.path, relay, tc.whose, got.Path)
			endConsoleCall(pane, logPath)
			pane.keys("q")
			pt.stop()
		})
	}
}
