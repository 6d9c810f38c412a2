package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"teleconsole/uhiclient"
)

type cmdResult struct {
	code           int
	stdout, stderr string
}

func runCmd(f func([]string, io.Reader, io.Writer, io.Writer) int, stdin string, args ...string) cmdResult {
	var out, errb bytes.Buffer
	code := f(args, strings.NewReader(stdin), &out, &errb)
	return cmdResult{code, out.String(), errb.String()}
}

func keygen(t *testing.T) (priv, pub string) {
	t.Helper()
	r := runCmd(runKeygen, "")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("keygen: %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "private-key: ") || !strings.HasPrefix(lines[1], "public-key: ") {
		t.Fatalf("keygen output %q", r.stdout)
	}
	return strings.TrimPrefix(lines[0], "private-key: "), strings.TrimPrefix(lines[1], "public-key: ")
}

func TestCmdKeygenOutputParses(t *testing.T) {
	priv, pub := keygen(t)
	k, err := uhiclient.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := uhiclient.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Equal(k.Public()) {
		t.Fatal("public key does not belong to the private key")
	}
	if priv2, _ := keygen(t); priv2 == priv {
		t.Fatal("keygen repeated a key")
	}
}

const cmdBody = `{"context":{"action":"on_message","transaction_id":"t"},"message":{}}`

func TestCmdSignVerifyRoundTrip(t *testing.T) {
	priv, pub := keygen(t)
	s := runCmd(runSign, cmdBody, "--private-key", priv, "--subscriber-id", "hspa-nha", "--key-id", "k1", "--created", "1679652050")
	if s.code != 0 {
		t.Fatalf("sign: %+v", s)
	}
	hdr := strings.TrimSpace(s.stdout)
	want := `{"keyId":"hspa-nha|k1|ed25519","algorithm":"ed25519","created":"1679652050","expires":"1679652060","headers":"(created) (expires) digest","signature":"`
	if !strings.HasPrefix(hdr, want) {
		t.Fatalf("header %s", hdr)
	}
	v := runCmd(runVerify, cmdBody, "--public-key", pub, "--authorization", hdr, "--at", "1679652055")
	if v.code != 0 || v.stdout != "valid\n" {
		t.Fatalf("verify: %+v", v)
	}

	cases := []struct {
		name, body, want string
		args             []string
	}{
		{"tampered body", cmdBody + " ", "digest mismatch", []string{"--at", "1679652055"}},
		{"tampered body, digest given", cmdBody + " ", "digest mismatch: Digest header", []string{"--at", "1679652055", "--digest", "BLAKE-512=" + uhiclient.Digest([]byte(cmdBody))}},
		{"expired", cmdBody, "expired", []string{"--at", strconv.Itoa(1679652060 + 3600)}},
		{"not yet valid", cmdBody, "not yet valid", []string{"--at", strconv.Itoa(1679652050 - 3600)}},
	}
	for _, c := range cases {
		r := runCmd(runVerify, c.body, append([]string{"--public-key", pub, "--authorization", hdr}, c.args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stdout, "invalid: ") || !strings.Contains(r.stdout, c.want) {
			t.Errorf("%s: %+v, want exit 1 with %q", c.name, r, c.want)
		}
	}
	// Wrong key: the signature does not verify.
	_, otherPub := keygen(t)
	if r := runCmd(runVerify, cmdBody, "--public-key", otherPub, "--authorization", hdr, "--at", "1679652055"); r.code != 1 || !strings.Contains(r.stdout, "bad signature") {
		t.Errorf("other key: %+v", r)
	}
	// Malformed headers.
	for _, bad := range []string{"hello", strings.Replace(hdr, `"created":"1679652050"`, `"created":"soon"`, 1), strings.Replace(hdr, "|ed25519", "", 1)} {
		if r := runCmd(runVerify, cmdBody, "--public-key", pub, "--authorization", bad); r.code != 1 || !strings.Contains(r.stdout, "malformed authorization header") {
			t.Errorf("malformed %q: %+v", bad, r)
		}
	}
}

func TestCmdSignDefaultsAndTTL(t *testing.T) {
	priv, pub := keygen(t)
	s := runCmd(runSign, cmdBody, "--private-key", priv, "--subscriber-id", "s", "--key-id", "k", "--ttl", "60")
	if s.code != 0 {
		t.Fatal(s)
	}
	a, err := uhiclient.ParseAuthorization(strings.TrimSpace(s.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if a.Expires-a.Created != 60 {
		t.Errorf("ttl %d", a.Expires-a.Created)
	}
	// Default created is now, so verifying now succeeds.
	if r := runCmd(runVerify, cmdBody, "--public-key", pub, "--authorization", strings.TrimSpace(s.stdout)); r.code != 0 {
		t.Errorf("verify now: %+v", r)
	}
}

func TestCmdUsageErrors(t *testing.T) {
	priv, _ := keygen(t)
	cases := []struct {
		name string
		f    func([]string, io.Reader, io.Writer, io.Writer) int
		args []string
	}{
		{"sign no flags", runSign, nil},
		{"sign bad key", runSign, []string{"--private-key", "nope", "--subscriber-id", "s", "--key-id", "k"}},
		{"sign bad ttl", runSign, []string{"--private-key", priv, "--subscriber-id", "s", "--key-id", "k", "--ttl", "0"}},
		{"sign unknown flag", runSign, []string{"--bogus"}},
		{"verify no flags", runVerify, nil},
		{"verify bad key", runVerify, []string{"--public-key", "nope", "--authorization", "{}"}},
		{"keygen stray arg", runKeygen, []string{"extra"}},
	}
	for _, c := range cases {
		r := runCmd(c.f, "", c.args...)
		if r.code != 2 || r.stderr == "" || r.stdout != "" {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	if r := runCmd(runSign, "", "--help"); r.code != 0 || !strings.Contains(r.stderr, "usage: teleconsole sign") {
		t.Errorf("help: %+v", r)
	}
}
