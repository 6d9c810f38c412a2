package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"teleconsole/internal/testcert"
)

func TestHubServesHTTPS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, pool := testcert.Write(t, dir, "hub")
	doctors := filepath.Join(dir, "doctors")
	if err := os.WriteFile(doctors, []byte("ganeshborse@hpr.ndhm ganesh pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &hubConfig{listen: "127.0.0.1:0", providerID: "hospital", verify: "off", doctors: doctors,
		tls: tlsFlags{cert: certPath, key: keyPath}, natsURL: "embedded", natsListen: "127.0.0.1:0",
		natsData: filepath.Join(dir, "nats"), natsReplicas: 1}
	uri, natsURL := startHub(t, cfg)
	if !strings.HasPrefix(uri, "https://") {
		t.Fatalf("provider_uri %q; want https with --tls-cert", uri)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(strings.TrimSuffix(uri, "/api/v1") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("healthz over HTTPS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Its NATS server takes consoles over TLS alone.
	if nc, err := nats.Connect(natsURL, nats.UserInfo("ganesh", "pw")); err == nil {
		nc.Close()
		t.Error("a console connected to the embedded NATS server without TLS")
	}
	nc, err := nats.Connect(natsURL, nats.UserInfo("ganesh", "pw"), nats.Secure(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatalf("a console over TLS: %v", err)
	}
	nc.Close()
}

// startHub starts serveHub with cfg and returns its provider_uri and the
// NATS URL it serves or uses; the hub stops at the test's end, and must
// stop cleanly, its log shown if the test failed.
func startHub(t *testing.T, cfg *hubConfig) (uri, natsURL string) {
	t.Helper()
	cfg.logPath = filepath.Join(t.TempDir(), "hub.log")
	t.Cleanup(func() {
		if b, err := os.ReadFile(cfg.logPath); err == nil && t.Failed() {
			t.Logf("hub log:\n%s", b)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveHub(ctx, cfg, io.Discard, func(uri, natsURL string) { ready <- [2]string{uri, natsURL} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("hub did not stop")
		}
	})
	select {
	case u := <-ready:
		return u[0], u[1]
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hub never served")
	}
	return "", ""
}

func TestHubFlagsFromTheEnvironment(t *testing.T) {
	t.Setenv("TELECONSOLE_DOCTORS", filepath.Join(t.TempDir(), "no-such-file"))
	var out strings.Builder
	if code := run(context.Background(), []string{"hub"}, nil, &out, &out); code != 1 || !strings.Contains(out.String(), "no-such-file") {
		t.Fatalf("hub with TELECONSOLE_DOCTORS: exit %d, %q; want the file it names refused", code, out.String())
	}
}

func TestHubNeedsDoctors(t *testing.T) {
	var out strings.Builder
	if code := run(context.Background(), []string{"hub"}, nil, &out, &out); code != 1 || !strings.Contains(out.String(), "--doctors is required") {
		t.Fatalf("hub without --doctors: exit %d, %q", code, out.String())
	}
}

// TestHubFatalErrorInTheLog: an error that stops the hub once its log is
// open is in the log file as well as on stderr.
func TestHubFatalErrorInTheLog(t *testing.T) {
	dir := t.TempDir()
	doctors := filepath.Join(dir, "doctors")
	if err := os.WriteFile(doctors, []byte("ganeshborse@hpr.ndhm ganesh pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	logPath := filepath.Join(dir, "hub.log")
	var out strings.Builder
	code := run(context.Background(), []string{"hub", "--doctors", doctors, "--log", logPath,
		"--listen", taken.Addr().String(), "--nats-listen", "127.0.0.1:0", "--nats-data", filepath.Join(dir, "nats")}, nil, &out, &out)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "listen on " + taken.Addr().String()
	if code != 1 || !strings.Contains(out.String(), want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, out.String(), want)
	}
	if !strings.Contains(string(b), "level=ERROR") || !strings.Contains(string(b), want) {
		t.Errorf("log:\n%s\nwant an ERROR line with %q", b, want)
	}
}

// TestHubRefusesSchedulesItCannotServe: a schedule of a doctor not in the
// doctors file, and a schedule file with a fault, stop the hub at start,
// naming the doctor or the file.
func TestHubRefusesSchedulesItCannotServe(t *testing.T) {
	dir := t.TempDir()
	doctors := filepath.Join(dir, "doctors")
	if err := os.WriteFile(doctors, []byte("ganeshborse@hpr.ndhm ganesh pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	schedules := filepath.Join(dir, "schedules")
	if err := os.Mkdir(schedules, 0o700); err != nil {
		t.Fatal(err)
	}
	stranger := `{"doctor": {"name": "Dr S", "hpr": "stranger@hpr.ndhm"},
 "services": {"physical": {"fee": "500", "hours": {"daily": ["09:00-13:00"]}}}}`
	if err := os.WriteFile(filepath.Join(schedules, "s.json"), []byte(stranger), 0o600); err != nil {
		t.Fatal(err)
	}
	hub := func() (int, string) {
		var out strings.Builder
		code := run(context.Background(), []string{"hub", "--doctors", doctors, "--schedules", schedules, "--listen", "127.0.0.1:0",
			"--nats-listen", "127.0.0.1:0", "--nats-data", filepath.Join(dir, "nats")}, nil, &out, &out)
		return code, out.String()
	}
	if code, out := hub(); code != 1 || !strings.Contains(out, "stranger@hpr.ndhm") || !strings.Contains(out, "not in the doctors file") {
		t.Errorf("a schedule of a doctor not in the file: exit %d, %q", code, out)
	}
	if err := os.WriteFile(filepath.Join(schedules, "s.json"), []byte(`{"doctor": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := hub(); code != 1 || !strings.Contains(out, "s.json") {
		t.Errorf("a broken schedule file: exit %d, %q", code, out)
	}
}
