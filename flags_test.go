package main

import (
	"crypto/rand"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"teleconsole/uhiclient"
)

func TestParseFlagsEnvironment(t *testing.T) {
	env := map[string]string{
		"TELECONSOLE_LISTEN":      "127.0.0.1:9000",
		"TELECONSOLE_ICE_SERVERS": "",
		"TELECONSOLE_NAME":        "from env",
		"TELECONSOLE_RING":        "7s",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8901", "")
	ice := fs.String("ice-servers", "stun:default", "")
	name := fs.String("name", "", "")
	hpr := fs.String("hpr", "default@hpr.ndhm", "")
	ring := fs.Duration("ring", time.Second, "")

	if code, done := parseCommand(fs, []string{"--name", "from flag"}, lookup); done {
		t.Fatalf("parseCommand stopped with exit %d", code)
	}
	if *listen != "127.0.0.1:9000" {
		t.Errorf("listen = %q, want the environment's value", *listen)
	}
	if *ice != "" {
		t.Errorf("ice-servers = %q, want empty: an empty variable means none", *ice)
	}
	if *name != "from flag" {
		t.Errorf("name = %q, want the command line to win over the environment", *name)
	}
	if *hpr != "default@hpr.ndhm" {
		t.Errorf("hpr = %q, want the default when neither is given", *hpr)
	}
	if *ring != 7*time.Second {
		t.Errorf("ring = %v, want 7s", *ring)
	}
}

func TestParseFlagsBadEnvironment(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "TELECONSOLE_RING" {
			return "soon", true
		}
		return "", false
	}
	var out strings.Builder
	fs := newFlagSet("t", "usage: t", &out)
	fs.Duration("ring", time.Second, "")
	code, done := parseCommand(fs, nil, lookup)
	if !done || code != 2 {
		t.Fatalf("a malformed environment value gave exit %d (stop %v), want 2", code, done)
	}
	if want := "TELECONSOLE_RING"; !strings.Contains(out.String(), want) {
		t.Errorf("error %q does not name %s", out.String(), want)
	}
}

func TestPeerFlagsSigner(t *testing.T) {
	_, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := uhiclient.EncodePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var p peerFlags
	p.register(fs, peerFlags{}, "")
	if s, err := p.signer("hspa"); s != nil || err != nil {
		t.Fatalf("no key: signer %v, err %v; want neither", s, err)
	}
	if err := fs.Parse([]string{"--private-key", key}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.signer("hspa"); err == nil || !strings.Contains(err.Error(), "--key-id") {
		t.Fatalf("a key without --key-id gave %v, want an error naming --key-id", err)
	}
	if err := fs.Parse([]string{"--key-id", "k1"}); err != nil {
		t.Fatal(err)
	}
	s, err := p.signer("hspa")
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != "hspa|k1|ed25519" {
		t.Fatalf("keyId %q, want the fallback subscriber: hspa|k1|ed25519", s.KeyID())
	}
	if err := fs.Parse([]string{"--private-key", "not base64!"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.signer("hspa"); err == nil || !strings.Contains(err.Error(), "--private-key") {
		t.Fatalf("a bad key gave %v, want an error naming --private-key", err)
	}
}
