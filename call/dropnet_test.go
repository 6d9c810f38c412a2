package call

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// dropNet is the real network with a switch that silently drops every UDP
// packet in and out: a peer whose network vanished (no BYE, no DTLS
// close_notify, no ICMP).
type dropNet struct {
	transport.Net
	drop *atomic.Bool
}

func newDropNet(t testing.TB) (*dropNet, *atomic.Bool) {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	flag := &atomic.Bool{}
	return &dropNet{Net: n, drop: flag}, flag
}

func (n *dropNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &dropConn{UDPConn: c, drop: n.drop}, nil
}

type dropConn struct {
	transport.UDPConn
	drop *atomic.Bool
}

func (c *dropConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if c.drop.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteTo(p, addr)
}

func (c *dropConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if c.drop.Load() {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDP(p, addr)
}

func (c *dropConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err != nil || !c.drop.Load() {
			return n, addr, err
		}
	}
}

func (c *dropConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(p)
		if err != nil || !c.drop.Load() {
			return n, addr, err
		}
	}
}
