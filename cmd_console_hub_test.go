package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"teleconsole/hub"
	"teleconsole/uhiclient"
)

// TestConsoleSaysItsNATSUserMayNotReadItsSubjects: a console whose NATS
// user holds another doctor's permissions, not its own, stops at once with
// the reason on its terminal and in its log: the subject refused and the
// user.
func TestConsoleSaysItsNATSUserMayNotReadItsSubjects(t *testing.T) {
	const doctor, other = "ganeshborse@hpr.ndhm", "asha.rao@hpr.ndhm"
	dir := t.TempDir()
	// The user "ganesh" is made with asha's permissions.
	doctors := []hub.Doctor{{Address: other, User: "ganesh", Password: "pw"}, {Address: doctor, User: "ravi", Password: "pw-r"}}
	ns, err := hub.StartServer(hub.ServerConfig{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "nats"), Doctors: doctors,
		HubUser: "hub", HubPassword: "hub-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := hub.Connect(ns.ClientURL(), "test hub", nats.UserInfo("hub", "hub-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	client, err := uhiclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := hub.New(ctx, hub.Config{Doctors: doctors, Conn: nc, Client: client, ProviderID: "hospital",
		ProviderURI: "https://hospital.example/api/v1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)

	logPath := filepath.Join(dir, "console.log")
	start := time.Now()
	r := runMain(t, "--hub", ns.ClientURL(), "--hpr", doctor, "--nats-user", "ganesh", "--nats-password", "pw",
		"--log", logPath, "--media", "synthetic", "--record", "off")
	took := time.Since(start)
	t.Logf("stopped after %v: %q", took.Round(time.Millisecond), r.stderr)
	if r.code == 0 {
		t.Fatalf("the console ran: %+v", r)
	}
	for _, want := range []string{`"ganesh"`, "permissions violation", hub.Token(doctor)} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q does not say %q", r.stderr, want)
		}
	}
	if took > 5*time.Second {
		t.Errorf("the reason came after %v; the console should stop at the first refusal", took.Round(time.Millisecond))
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "level=ERROR") || !strings.Contains(string(b), "permissions violation") {
		t.Errorf("log:\n%s\nwant the reason as an ERROR", b)
	}
}

func TestHubWordsNameTheServersOrCountThem(t *testing.T) {
	for _, c := range []struct{ urls, want string }{
		{"nats://10.0.0.5:4222", "via hub 10.0.0.5:4222"},
		{"tls://hub.hospital.in:4222", "via hub tls://hub.hospital.in:4222"},
		{"nats://127.0.0.1:4222,nats://127.0.0.2:4222, nats://127.0.0.3:4222", "via hub, 3 NATS servers"},
	} {
		if got := hubWords(c.urls); got != c.want {
			t.Errorf("hubWords(%q) = %q; want %q", c.urls, got, c.want)
		}
	}
}
