package systest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"teleconsole/uhiclient"
)

// TestEndToEndTLS: the console's own endpoint over HTTPS (--tls-cert,
// --tls-key); a READY posted over TLS lists its patient.
func TestEndToEndTLS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, pool := writeSelfSigned(t, dir)
	bin := binary(t)
	addr := freePort(t)
	logPath := filepath.Join(dir, "console.log")
	pane := startTmux(t, 80, 24, []string{"TERM=xterm-256color"}, bin,
		"--listen", addr, "--hpr", testDoctor, "--ice-servers", "", "--media", "synthetic",
		"--tls-cert", certPath, "--tls-key", keyPath, "--log", logPath)
	pane.waitFor("Waiting room", 10*time.Second, logPath)

	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: "Meera Iyer", Cred: "meera@sbx"}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerID: "eua", ConsumerURI: "http://127.0.0.1:1/api/v1", TransactionID: "txn-tls",
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	body, err := uhiclient.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
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

// writeSelfSigned writes a certificate for 127.0.0.1 and its key into dir.
func writeSelfSigned(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "console"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}
