package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"teleconsole/hub"
	"teleconsole/internal/uhitest"
	"teleconsole/uhiclient"
)

// A hospital's own NATS in operator (decentralised JWT) mode: the server
// trusts an operator, the operator signs the accounts, the hospital's
// account signs its users, and each user logs in with a .creds file (its
// JWT and NKey seed). --nats-creds is how the hub and the consoles log in
// there.

const credsDoctor = "ganeshborse@hpr.ndhm"

// operatorNATS is a NATS server in operator mode with JetStream, holding
// one operator, its system account and the hospital's account.
type operatorNATS struct {
	ns       *server.Server
	hospital nkeys.KeyPair // the account that signs the hospital's users
}

func startOperatorNATS(t *testing.T) *operatorNATS {
	t.Helper()
	operator, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opPub, _ := operator.PublicKey()
	resolver := &server.MemAccResolver{}
	account := func(name string, jetStream bool) (nkeys.KeyPair, string) {
		kp, err := nkeys.CreateAccount()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if jetStream {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := ac.Encode(operator)
		if err != nil {
			t.Fatal(err)
		}
		if err := resolver.Store(pub, token); err != nil {
			t.Fatal(err)
		}
		return kp, pub
	}
	_, sysPub := account("SYS", false)
	hospital, _ := account("HOSPITAL", true)
	oc := jwt.NewOperatorClaims(opPub)
	oc.Name = "hospital-it"
	oc.SystemAccount = sysPub
	token, err := oc.Encode(operator)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := jwt.DecodeOperatorClaims(token)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{trusted}, SystemAccount: sysPub, AccountResolver: resolver,
		NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator-mode NATS server not ready")
	}
	return &operatorNATS{ns: ns, hospital: hospital}
}

// userCreds writes a .creds file for a user of the hospital's account
// signed by signer (the hospital's account, unless a test forges one),
// with the given permissions (none: everything), and returns its path.
func userCreds(t *testing.T, dir, name string, signer nkeys.KeyPair, publish, subscribe []string) string {
	t.Helper()
	return editedCreds(t, dir, name, signer, func(uc *jwt.UserClaims) {
		uc.Pub.Allow.Add(publish...)
		uc.Sub.Allow.Add(subscribe...)
	})
}

// editedCreds is userCreds with the user's claims as edit leaves them.
func editedCreds(t *testing.T, dir, name string, signer nkeys.KeyPair, edit func(*jwt.UserClaims)) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	edit(uc)
	token, err := uc.Encode(signer)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHubAndConsoleLogInWithNATSCreds(t *testing.T) {
	o := startOperatorNATS(t)
	dir := t.TempDir()
	hubCreds := userCreds(t, dir, "hub", o.hospital, nil, nil)
	pub, sub := hub.Permissions(credsDoctor)
	doctorCreds := userCreds(t, dir, "ganesh", o.hospital, pub, sub)

	// The patients' key, which the hub checks each request's signature with.
	patientPub, patientPriv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := uhiclient.NewSigner(patientPriv, "eua", "k1")
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := uhiclient.EncodePublicKey(patientPub)
	ring, _ := json.Marshal(map[string]string{signer.KeyID(): pubText})
	ringPath := filepath.Join(dir, "keyring.json")
	doctors := filepath.Join(dir, "doctors")
	for path, b := range map[string][]byte{ringPath: ring, doctors: []byte(credsDoctor + "\n")} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	natsURL := o.ns.ClientURL()
	uri, _ := startHub(t, &hubConfig{listen: "127.0.0.1:0", providerID: "hospital", verify: "keyring:" + ringPath,
		doctors: doctors, natsURL: natsURL, natsReplicas: 1, nats: natsFlags{creds: hubCreds}})

	link, err := hubLink(&consoleConfig{hub: natsURL, hpr: credsDoctor, nats: natsFlags{creds: doctorCreds}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("console with --nats-creds: %v", err)
	}
	defer link.Disconnect()
	if err := link.Start(nil); err != nil {
		t.Fatalf("console with --nats-creds: %v", err)
	}
	defer func() { _ = link.Close(context.Background()) }()

	ready := credsReady(t)
	if status, reply := postSigned(t, uri, ready, nil); status != http.StatusUnauthorized {
		t.Errorf("unsigned READY: %d %s; want 401 with --verify keyring", status, reply)
	}
	// The hub answers 503 "offline" until it has read the console's first
	// presence; the patient's app retries, as this does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, reply := postSigned(t, uri, ready, signer)
		if status == http.StatusOK {
			break
		}
		if status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("signed READY: %d %s", status, reply)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want, err := uhiclient.Decode(ready)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-link.Signals():
		if in.MessageID != want.MessageID || in.Signal.Type != uhiclient.SignalReady || in.KeyID != signer.KeyID() {
			t.Errorf("console got %s %v, key %q; want the READY signed with %s", in.MessageID, in.Signal.Type, in.KeyID, signer.KeyID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the console, logged in with its .creds, received nothing")
	}
}

// credsReady is a patient's READY to credsDoctor.
func credsReady(t *testing.T) []byte {
	t.Helper()
	return uhitest.ReadyBody(t, uhiclient.Identity{
		Self: uhiclient.Person{Name: "Manish", Cred: "manishkahane@sbx"}, Peer: uhiclient.Person{Cred: credsDoctor},
		ConsumerID: "eua", ConsumerURI: "http://127.0.0.1:9/api/v1", TransactionID: uuid.NewString(),
	})
}

// postSigned posts body to the on_message of uri, signed by signer if it
// is not nil, as a patient's app does.
func postSigned(t *testing.T, uri string, body []byte, signer *uhiclient.Signer) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, uri+"/on_message", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signer != nil {
		req.Header.Set("Authorization", signer.Sign(body))
		req.Header.Set("Digest", uhiclient.DigestHeaderPrefix+uhiclient.Digest(body))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadNATSCredsAreRefusedClearly(t *testing.T) {
	o := startOperatorNATS(t)
	dir := t.TempDir()
	doctors := filepath.Join(dir, "doctors")
	if err := os.WriteFile(doctors, []byte(credsDoctor+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A user signed by an account this operator never signed: a valid
	// file, which the server refuses.
	stranger, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	notAFile := filepath.Join(dir, "no-such.creds")
	garbage := filepath.Join(dir, "garbage.creds")
	if err := os.WriteFile(garbage, []byte("this is not a credentials file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jwtOnly := filepath.Join(dir, "jwt-only.creds")
	full, err := os.ReadFile(userCreds(t, dir, "half", o.hospital, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	const seedPart = "************************* IMPORTANT"
	half, _, _ := strings.Cut(string(full), seedPart)
	if err := os.WriteFile(jwtOnly, []byte(half), 0o600); err != nil {
		t.Fatal(err)
	}
	// The JWT of one user with the seed of another.
	other, err := os.ReadFile(userCreds(t, dir, "other", o.hospital, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, otherSeed, _ := strings.Cut(string(other), seedPart)
	mixed := filepath.Join(dir, "mixed.creds")
	if err := os.WriteFile(mixed, []byte(half+seedPart+otherSeed), 0o600); err != nil {
		t.Fatal(err)
	}
	expired := editedCreds(t, dir, "expired", o.hospital, func(uc *jwt.UserClaims) {
		uc.Expires = time.Now().Add(-time.Hour).Unix()
	})
	for _, c := range []struct {
		name, creds string
		want        []string
	}{
		{"missing", notAFile, []string{"--nats-creds", notAFile, "no such file"}},
		{"not a creds file", garbage, []string{"--nats-creds", garbage, "user JWT"}},
		{"no seed", jwtOnly, []string{"--nats-creds", jwtOnly, "seed"}},
		{"another user's seed", mixed, []string{"--nats-creds", mixed, "not the key of its user JWT"}},
		{"expired", expired, []string{"--nats-creds", expired, "expired"}},
		{"unknown account", userCreds(t, dir, "stranger", stranger, nil, nil), []string{"authorization violation", o.ns.ClientURL()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &hubConfig{listen: "127.0.0.1:0", providerID: "hospital", verify: "off", doctors: doctors,
				natsURL: o.ns.ClientURL(), natsReplicas: 1, nats: natsFlags{creds: c.creds}}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := serveHub(ctx, cfg, io.Discard, nil)
			checkCredsError(t, "hub", err, c.want)
			link, err := hubLink(&consoleConfig{hub: o.ns.ClientURL(), hpr: credsDoctor, nats: natsFlags{creds: c.creds}},
				slog.New(slog.DiscardHandler))
			if err == nil {
				link.Disconnect()
			}
			checkCredsError(t, "console", err, c.want)
		})
	}
}

func checkCredsError(t *testing.T, who string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: started with bad credentials", who)
		return
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(w)) {
			t.Errorf("%s: %q does not say %q", who, err, w)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: %v: waited out its context instead of refusing", who, err)
	}
}

// Credentials that expire while the console runs are named on its status
// bar, not only in its log: the doctor must renew them.
func TestExpiredNATSCredsAreShown(t *testing.T) {
	o := startOperatorNATS(t)
	dir := t.TempDir()
	pub, sub := hub.Permissions(credsDoctor)
	soon := editedCreds(t, dir, "soon", o.hospital, func(uc *jwt.UserClaims) {
		uc.Pub.Allow.Add(pub...)
		uc.Sub.Allow.Add(sub...)
		uc.Expires = time.Now().Add(2 * time.Second).Unix()
	})
	link, err := hubLink(&consoleConfig{hub: o.ns.ClientURL(), hpr: credsDoctor, nats: natsFlags{creds: soon}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("console with credentials valid for 2 s: %v", err)
	}
	defer link.Disconnect()
	if got := link.Status(); got != "hub reachable" {
		t.Fatalf("status before the credentials expire: %q", got)
	}
	deadline := time.Now().Add(15 * time.Second)
	for link.Reachable() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && !strings.Contains(link.Status(), "expired") {
		time.Sleep(50 * time.Millisecond)
	}
	if got := link.Status(); got != "hub UNREACHABLE: NATS credentials expired" {
		t.Errorf("status after the credentials expired: %q", got)
	}
}
