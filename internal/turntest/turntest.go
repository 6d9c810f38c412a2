// Package turntest runs a real TURN server (pion/turn) on loopback for
// tests, as net/http/httptest runs HTTP servers: one that listens on UDP,
// TCP and TLS, knows one user, and counts the packets each allocation's
// relayed address carries, so a test can tell which allocation carried a
// call's media and which only its connectivity checks.
package turntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/turn/v5"
)

// The one user the server knows.
const (
	User     = "clinic"
	Password = "clinic-secret"
	realm    = "teleconsole.test"
)

// Server is a TURN server on 127.0.0.1. Close it when done.
type Server struct {
	// UDP, TCP and TLS are the listeners' addresses, host:port.
	UDP, TCP, TLS string
	// CertPEM is the TLS listener's self-signed certificate, for 127.0.0.1
	// (a process that is to trust it reads it from SSL_CERT_FILE).
	CertPEM []byte

	srv *turn.Server
	// betweenRelays drops what any relayed address would send to, or
	// receive from, a peer that is not another relayed address of this
	// server (OnlyBetweenRelays).
	betweenRelays atomic.Bool

	mu     sync.Mutex
	allocs []*Allocation
}

// Allocation is one relayed address the server allocated, and what went
// through it.
type Allocation struct {
	// Relay is the relayed transport address, host:port: the address of the
	// relay candidate its client signals.
	Relay string
	// ToPeers counts the packets the server sent from Relay to peers (what
	// the client sent through it); FromPeers those it received at Relay
	// from peers (what it relayed back to the client).
	ToPeers, FromPeers atomic.Int64
}

// Start starts a server on loopback.
func Start() (*Server, error) {
	s := &Server{}
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("turntest: udp: %w", err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("turntest: tcp: %w", err)
	}
	cert, certPEM, err := selfSigned()
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, err
	}
	tlsL, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return nil, fmt.Errorf("turntest: tls: %w", err)
	}
	s.UDP, s.TCP, s.TLS, s.CertPEM = udp.LocalAddr().String(), tcp.Addr().String(), tlsL.Addr().String(), certPEM
	key := turn.GenerateAuthKey(User, realm, Password)
	gen := func() turn.RelayAddressGenerator { return &countingRelay{s: s} }
	s.srv, err = turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, key, ra.Username == User
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: udp, RelayAddressGenerator: gen()}},
		ListenerConfigs: []turn.ListenerConfig{
			{Listener: tcp, RelayAddressGenerator: gen()},
			{Listener: tlsL, RelayAddressGenerator: gen()},
		},
	})
	if err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		_ = tlsL.Close()
		return nil, fmt.Errorf("turntest: %w", err)
	}
	return s, nil
}

// Close stops the server and its allocations.
func (s *Server) Close() error { return s.srv.Close() }

// URL is the server's URL for ICE: transport "udp" (turn:…), "tcp"
// (turn:…?transport=tcp) or "tls" (turns:…?transport=tcp).
func (s *Server) URL(transport string) string {
	switch transport {
	case "tcp":
		return "turn:" + s.TCP + "?transport=tcp"
	case "tls":
		return "turns:" + s.TLS + "?transport=tcp"
	default:
		return "turn:" + s.UDP + "?transport=udp"
	}
}

// OnlyBetweenRelays makes the server drop, while on is true, every packet
// between one of its relayed addresses and a peer that is not another of
// them: a pair from a host candidate to a relay fails its checks, and a
// pair between two relays still works, as where a firewall lets nothing
// but the TURN server through. Off again, every pair works.
func (s *Server) OnlyBetweenRelays(on bool) { s.betweenRelays.Store(on) }

// blocked reports whether a packet between a relayed address and peer is
// to be dropped.
func (s *Server) blocked(peer net.Addr) bool {
	return s.betweenRelays.Load() && s.Allocation(peer.String()) == nil
}

// Allocations returns the allocations made so far, oldest first.
func (s *Server) Allocations() []*Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Allocation(nil), s.allocs...)
}

// Allocation returns the allocation whose relayed address is relay, or nil.
func (s *Server) Allocation(relay string) *Allocation {
	for _, a := range s.Allocations() {
		if a.Relay == relay {
			return a
		}
	}
	return nil
}

// Busiest returns the allocations ordered by the packets they carried,
// most first.
func (s *Server) Busiest() []*Allocation {
	all := s.Allocations()
	sort.SliceStable(all, func(i, j int) bool { return all[i].Packets() > all[j].Packets() })
	return all
}

// Packets is what went through the allocation, both ways.
func (a *Allocation) Packets() int64 { return a.ToPeers.Load() + a.FromPeers.Load() }

// String is the relayed address with its counts.
func (a *Allocation) String() string {
	return fmt.Sprintf("%s (%d to peers, %d from peers)", a.Relay, a.ToPeers.Load(), a.FromPeers.Load())
}

// countingRelay allocates relayed addresses on 127.0.0.1 and counts what
// each carries.
type countingRelay struct {
	turn.RelayAddressGeneratorStatic
	s *Server
}

func (r *countingRelay) Validate() error {
	r.RelayAddress, r.Address = net.IPv4(127, 0, 0, 1), "127.0.0.1"
	return r.RelayAddressGeneratorStatic.Validate()
}

func (r *countingRelay) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := r.RelayAddressGeneratorStatic.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	a := &Allocation{Relay: addr.String()}
	r.s.mu.Lock()
	r.s.allocs = append(r.s.allocs, a)
	r.s.mu.Unlock()
	return &countingConn{PacketConn: conn, s: r.s, a: a}, addr, nil
}

type countingConn struct {
	net.PacketConn
	s *Server
	a *Allocation
}

func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err == nil && c.s.blocked(addr) {
			continue
		}
		if err == nil {
			c.a.FromPeers.Add(1)
		}
		return n, addr, err
	}
}

func (c *countingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.s.blocked(addr) {
		return len(p), nil // lost on the way, as a firewall loses it
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	if err == nil {
		c.a.ToPeers.Add(1)
	}
	return n, err
}

// selfSigned makes a certificate for 127.0.0.1 valid for a day.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("turntest: key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "turntest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("turntest: certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if certPEM == nil {
		return tls.Certificate{}, nil, errors.New("turntest: certificate: PEM encoding failed")
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
