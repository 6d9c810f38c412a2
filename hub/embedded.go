package hub

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig describes a NATS server with JetStream run inside the hub's
// process (teleconsole hub --nats embedded), or one node of a cluster of
// them (tests).
type ServerConfig struct {
	// Listen is the HOST:PORT consoles connect to ("127.0.0.1:0" picks a
	// port).
	Listen string
	// DataDir is where JetStream keeps the stream on disk.
	DataDir string
	// Doctors become NATS users, each with Permissions of its own.
	Doctors []Doctor
	// HubUser and HubPassword are the hub's own user, allowed everything.
	HubUser, HubPassword string
	// TLS, when set, is required of every client.
	TLS *tls.Config
	// Name, ClusterName, ClusterListen and Routes make the server one node
	// of a cluster; Name must differ between the nodes.
	Name, ClusterName, ClusterListen string
	Routes                           []string
	// MaxPayload is the largest message the server takes; 0 is
	// embeddedMaxPayload. A hospital's own servers usually keep NATS's
	// default of 1 MB, which the hub's tests model with it.
	MaxPayload int32
}

// embeddedMaxPayload is the embedded server's largest message: room for
// uhiclient.MediaBodyLimit and the headers.
const embeddedMaxPayload = 10 << 20

// StartServer starts the NATS server cfg describes and waits until it takes
// connections.
func StartServer(cfg ServerConfig) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", cfg.Listen, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		NoSigs:     true,
		NoLog:      true,
		TLSConfig:  cfg.TLS,
		TLSVerify:  false,
	}
	if cfg.TLS != nil {
		opts.TLS = true
	}
	opts.Users = append(opts.Users, &server.User{Username: cfg.HubUser, Password: cfg.HubPassword})
	for _, d := range cfg.Doctors {
		if d.User == "" {
			return nil, fmt.Errorf("%w: %s has no NATS user, which an embedded server needs", ErrBadDoctors, d.Address)
		}
		pub, sub := Permissions(d.Address)
		opts.Users = append(opts.Users, &server.User{Username: d.User, Password: d.Password,
			Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: pub},
				Subscribe: &server.SubjectPermission{Allow: sub},
			}})
	}
	if cfg.ClusterName != "" {
		ch, cp, err := net.SplitHostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("nats cluster listen %q: %w", cfg.ClusterListen, err)
		}
		p, err := strconv.Atoi(cp)
		if err != nil {
			return nil, fmt.Errorf("nats cluster listen %q: %w", cfg.ClusterListen, err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: ch, Port: p}
		for _, r := range cfg.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	// A chat attachment of the reference apps' 5 MB travels as base64 in
	// its envelope: NATS's default of 1 MB a message would refuse it.
	opts.MaxPayload = embeddedMaxPayload
	if cfg.MaxPayload > 0 {
		opts.MaxPayload = cfg.MaxPayload
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server on %s: not ready within 10 s", cfg.Listen)
	}
	return s, nil
}
