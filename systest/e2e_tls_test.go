package systest

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"teleconsole/internal/testcert"
	"teleconsole/internal/uhitest"
	"teleconsole/uhiclient"
)

// TestEndToEndTLS: the console's own endpoint over HTTPS (--tls-cert,
// --tls-key); a READY posted over TLS lists its patient.
func TestEndToEndTLS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, pool := testcert.Write(t, dir, "console")
	bin := binary(t)
	addr := freePort(t)
	logPath := filepath.Join(dir, "console.log")
	pane := startTmux(t, 80, 24, []string{"TERM=xterm-256color"}, bin,
		"--listen", addr, "--hpr", testDoctor, "--ice-servers", "", "--media", "synthetic",
		"--tls-cert", certPath, "--tls-key", keyPath, "--log", logPath)
	pane.waitFor("Waiting room", 10*time.Second, logPath)

	body := uhitest.ReadyBody(t, uhiclient.Identity{
		Self: uhiclient.Person{Name: "Meera Iyer", Cred: "meera@sbx"}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerID: "eua", ConsumerURI: "http://127.0.0.1:1/api/v1", TransactionID: "txn-tls",
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Post("https://"+addr+"/api/v1/on_message", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("READY over HTTPS: %v", err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("READY over HTTPS: %d %s", resp.StatusCode, reply)
	}
	pane.waitFor("Meera Iyer", 10*time.Second, logPath)
	// Plain HTTP is refused: the endpoint speaks TLS alone.
	if plain, err := http.Post("http://"+addr+"/api/v1/on_message", "application/json", bytes.NewReader(body)); err == nil {
		plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS endpoint: %d; want 400", plain.StatusCode)
		}
	}
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
}
