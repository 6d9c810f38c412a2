package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
)

// natsFlags are how the console and the hub log in to NATS: a user and
// password or a credentials file, and the CA that signed the servers'
// certificates when they use TLS.
type natsFlags struct {
	user, password, creds, ca string
}

// register adds the NATS login flags to fs.
func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.user, "nats-user", "", "NATS `USER` to log in as")
	fs.StringVar(&n.password, "nats-password", "", "password of --nats-user")
	fs.StringVar(&n.creds, "nats-creds", "", "NATS credentials `FILE` (JWT and NKey), instead of a user and password")
	fs.StringVar(&n.ca, "nats-ca", "", "CA certificate `FILE` the NATS servers' TLS certificates are checked against")
}

// options are the NATS options the flags describe.
func (n *natsFlags) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case n.creds != "" && n.user != "":
		return nil, errors.New("--nats-creds and --nats-user: give one")
	case n.creds != "":
		if err := checkCreds(n.creds, time.Now()); err != nil {
			return nil, err
		}
		// The file is read again at each connection, so a credentials file
		// replaced in place (a renewed JWT) is taken at the next reconnect.
		opts = append(opts, nats.UserCredentials(n.creds))
	case n.user != "":
		opts = append(opts, nats.UserInfo(n.user, n.password))
	case n.password != "":
		return nil, errors.New("--nats-password needs --nats-user")
	}
	if n.ca != "" {
		opts = append(opts, nats.RootCAs(n.ca))
	}
	return opts, nil
}

// who names the NATS user the flags log in as: --nats-user, or the name
// in --nats-creds's JWT (its file's name when it has none).
func (n *natsFlags) who() string {
	if n.creds == "" {
		return n.user
	}
	if b, err := os.ReadFile(n.creds); err == nil {
		if token, err := jwt.ParseDecoratedJWT(b); err == nil {
			if c, err := jwt.DecodeUserClaims(token); err == nil && c.Name != "" {
				return c.Name
			}
		}
	}
	return n.creds
}

// checkCreds reads a credentials file as nats.UserCredentials will, so that
// a file that cannot serve is named at start with what is wrong in it
// rather than found at the first connection as "error signing nonce": it
// must hold a user JWT, not expired at now, and the NKey seed of that same
// user (a .creds file as nsc writes it).
func checkCreds(path string, now time.Time) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--nats-creds: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("--nats-creds %s: "+format+" (a .creds file holds a user JWT and that user's NKey seed)", append([]any{path}, a...)...)
	}
	token, err := jwt.ParseDecoratedJWT(b)
	if err != nil {
		return bad("%v", err)
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return bad("no user JWT in it: %v", err)
	}
	if claims.Expires > 0 && now.Unix() > claims.Expires {
		return bad("the user JWT of %q expired on %s", claims.Name, time.Unix(claims.Expires, 0).UTC().Format(time.RFC3339))
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil {
		return bad("no user NKey seed in it: %v", err)
	}
	if pub, err := kp.PublicKey(); err != nil || pub != claims.Subject {
		return bad("its NKey seed is not the key of its user JWT (%s)", claims.Subject)
	}
	return nil
}

// tlsFlags are the certificate and key of an HTTPS endpoint.
type tlsFlags struct {
	cert, key string
}

// register adds --tls-cert and --tls-key to fs; what names the endpoint.
func (t *tlsFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&t.cert, "tls-cert", "", "PEM certificate `FILE` to serve "+what+" over HTTPS with (needs --tls-key)")
	fs.StringVar(&t.key, "tls-key", "", "PEM private key `FILE` of --tls-cert")
}

// config is the TLS configuration, or nil for plain HTTP.
func (t *tlsFlags) config() (*tls.Config, error) {
	if t.cert == "" && t.key == "" {
		return nil, nil
	}
	if t.cert == "" || t.key == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	pair, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
