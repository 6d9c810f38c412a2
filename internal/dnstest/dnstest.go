// Package dnstest runs a real DNS server on loopback for tests, as
// net/http/httptest runs HTTP servers: it answers A and AAAA queries for
// the names it is given, NXDOMAIN for any other, and Resolver is a
// net.Resolver that asks it and nothing else, so a test can make a name
// resolve where it likes without touching the machine's DNS.
package dnstest

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a DNS server on 127.0.0.1 (UDP). Close it when done.
type Server struct {
	// Addr is its address, host:port.
	Addr  string
	conn  net.PacketConn
	names map[string][]netip.Addr
	done  sync.WaitGroup
}

// NewServer starts a server that resolves each name of names (without a
// final dot, any case) to its addresses.
func NewServer(names map[string][]netip.Addr) (*Server, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: conn.LocalAddr().String(), conn: conn, names: map[string][]netip.Addr{}}
	for n, addrs := range names {
		s.names[strings.ToLower(strings.TrimSuffix(n, "."))+"."] = addrs
	}
	s.done.Add(1)
	go s.serve()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.conn.Close()
	s.done.Wait()
	return err
}

// Resolver is a resolver that asks only this server.
func (s *Server) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr)
	}}
}

func (s *Server) serve() {
	defer s.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply, ok := s.answer(buf[:n]); ok {
			_, _ = s.conn.WriteTo(reply, from)
		}
	}
}

// answer is the reply to one query, or false for a packet that is none.
func (s *Server) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	addrs, known := s.names[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, false
		}
	}
	reply, err := b.Finish()
	return reply, err == nil
}
