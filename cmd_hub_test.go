package main

import (
	"context"
	"crypto/tls"
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	var logs strings.Builder
	go func() {
		done <- serveHub(ctx, cfg, &logs, func(uri, natsURL string) { ready <- [2]string{uri, natsURL} })
	}()
	var uri, natsURL string
	select {
	case u := <-ready:
		uri, natsURL = u[0], u[1]
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("hub never served")
	}
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hub stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not stop")
	}
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
