package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"teleconsole/call"
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

// TestPeerFlagsICETransportPolicy: --ice-transport-policy, or
// TELECONSOLE_ICE_TRANSPORT_POLICY, reaches the engine; a value other than
// all or relay stops the command with the variable named.
func TestPeerFlagsICETransportPolicy(t *testing.T) {
	parse := func(args []string, env map[string]string) (peerFlags, int, bool, string) {
		var out strings.Builder
		fs := newFlagSet("t", "usage: t", &out)
		var p peerFlags
		p.register(fs, defaultPeerFlags(), "")
		code, done := parseCommand(fs, args, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		return p, code, done, out.String()
	}
	if p, _, done, out := parse(nil, nil); done || p.icePolicy.p != webrtc.ICETransportPolicyAll {
		t.Errorf("default policy %v (stopped %v: %s), want all", p.icePolicy.p, done, out)
	}
	if p, _, done, out := parse(nil, map[string]string{"TELECONSOLE_ICE_TRANSPORT_POLICY": "relay"}); done || p.icePolicy.p != webrtc.ICETransportPolicyRelay {
		t.Errorf("policy from the environment %v (stopped %v: %s), want relay", p.icePolicy.p, done, out)
	}
	p, _, done, out := parse([]string{"--ice-transport-policy", "relay", "--ice-servers", "turn:127.0.0.1:3478?transport=tcp"}, nil)
	if done {
		t.Fatalf("stopped: %s", out)
	}
	opts, err := p.iceOptions()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.New(append(opts, call.WithMedia(call.MediaSynthetic), call.WithPlayback(false))...); err != nil {
		t.Errorf("relay-only with a TURN URL over TCP: %v", err)
	}
	p, _, _, _ = parse([]string{"--ice-transport-policy", "relay", "--ice-servers", "stun:127.0.0.1:3478"}, nil)
	opts, _ = p.iceOptions()
	if _, err := call.New(append(opts, call.WithMedia(call.MediaSynthetic), call.WithPlayback(false))...); !errors.Is(err, call.ErrInvalidOption) {
		t.Errorf("relay-only with STUN alone: err %v, want call.ErrInvalidOption", err)
	}
	if _, code, done, out := parse(nil, map[string]string{"TELECONSOLE_ICE_TRANSPORT_POLICY": "nohost"}); !done || code != 2 || !strings.Contains(out, "TELECONSOLE_ICE_TRANSPORT_POLICY") {
		t.Errorf("a bad policy in the environment: exit %d (stopped %v), output %q; want 2 and the variable named", code, done, out)
	}
}
