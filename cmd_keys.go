package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"teleconsole/uhiclient"
)

// maxSignBody bounds what sign and verify read from stdin; on_message bodies
// are refused above 2 MiB anyway (docs/protocol.md §2).
const maxSignBody = 64 << 20

// runKeygen prints a new Ed25519 key pair in the UHI format (docs/protocol.md §5):
// the private key as base64 PKCS#8 DER, the public key as base64 SPKI DER.
func runKeygen(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole keygen", "usage: teleconsole keygen\n\nPrints a new Ed25519 key pair: private-key (base64 PKCS#8) and public-key (base64 SPKI).", stderr)
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		return fail(stderr, err)
	}
	privB64, err := uhiclient.EncodePrivateKey(priv)
	if err != nil {
		return fail(stderr, err)
	}
	pubB64, err := uhiclient.EncodePublicKey(pub)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "private-key: %s\npublic-key: %s\n", privB64, pubB64)
	return 0
}

// runSign reads a body on stdin and prints its Authorization header value
// (docs/protocol.md §5). The digest covers the exact bytes read, trailing newline
// included: use printf '%s', not echo, for bodies without one.
func runSign(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole sign", "usage: teleconsole sign --private-key B64 --subscriber-id ID --key-id KID [--created UNIX] [--ttl SECONDS] < body", stderr)
	privateKey := fs.String("private-key", "", "base64 PKCS#8 Ed25519 private key (required)")
	subscriberID := fs.String("subscriber-id", "", "subscriber id, first part of keyId (required)")
	keyID := fs.String("key-id", "", "unique key id, second part of keyId (required)")
	created := fs.Int64("created", 0, "created time, Unix seconds (default now)")
	ttl := fs.Int64("ttl", int64(uhiclient.DefaultTTL/time.Second), "expires - created, seconds")
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	if *privateKey == "" || *subscriberID == "" || *keyID == "" {
		return keyUsage(fs, stderr, "--private-key, --subscriber-id and --key-id are required")
	}
	if *ttl < 1 {
		return keyUsage(fs, stderr, "--ttl must be at least 1")
	}
	priv, err := uhiclient.ParsePrivateKey(*privateKey)
	if err != nil {
		return keyUsage(fs, stderr, err.Error())
	}
	signer, err := uhiclient.NewSigner(priv, *subscriberID, *keyID, uhiclient.WithTTL(time.Duration(*ttl)*time.Second))
	if err != nil {
		return keyUsage(fs, stderr, err.Error())
	}
	body, err := readKeyBody(stdin)
	if err != nil {
		return fail(stderr, err)
	}
	at := time.Now()
	if *created != 0 {
		at = time.Unix(*created, 0)
	}
	fmt.Fprintln(stdout, signer.SignAt(body, at).String())
	return 0
}

// runVerify reads a body on stdin and checks it against an Authorization
// header value and a public key. It exits 0 printing "valid", or 1 printing
// why not: bad signature, digest mismatch, expired, malformed header.
func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole verify", "usage: teleconsole verify --public-key B64 --authorization JSON [--at UNIX] [--digest BLAKE-512=B64] < body", stderr)
	publicKey := fs.String("public-key", "", "base64 SPKI Ed25519 public key (required)")
	authorization := fs.String("authorization", "", "the Authorization header value, a JSON object (required)")
	at := fs.Int64("at", 0, "check the created/expires window (with a 30 s clock-skew allowance) as of this Unix time (default now)")
	digest := fs.String("digest", "", "optional Digest header sent with the body (BLAKE-512=...), to tell a changed body from a bad signature")
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	if *publicKey == "" || *authorization == "" {
		return keyUsage(fs, stderr, "--public-key and --authorization are required")
	}
	pub, err := uhiclient.ParsePublicKey(*publicKey)
	if err != nil {
		return keyUsage(fs, stderr, err.Error())
	}
	body, err := readKeyBody(stdin)
	if err != nil {
		return fail(stderr, err)
	}
	when := time.Now()
	if *at != 0 {
		when = time.Unix(*at, 0)
	}
	if err := uhiclient.VerifyAt(pub, *authorization, body, *digest, when); err != nil {
		fmt.Fprintf(stdout, "invalid: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "valid")
	return 0
}

// keyUsage reports a missing or bad flag value found after parsing, as
// parseCommand reports a bad flag: exit 2.
func keyUsage(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), strings.TrimSpace(msg))
	return 2
}

func readKeyBody(stdin io.Reader) ([]byte, error) {
	if stdin == nil {
		return nil, errors.New("no body on stdin")
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxSignBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxSignBody {
		return nil, fmt.Errorf("read body: over %d bytes", maxSignBody)
	}
	return b, nil
}
