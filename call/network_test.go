package call

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// ifaceNet is the real network with the interfaces a test chooses.
type ifaceNet struct {
	transport.Net
	ifaces []*transport.Interface
}

func (n *ifaceNet) Interfaces() ([]*transport.Interface, error) { return n.ifaces, nil }

func (n *ifaceNet) InterfaceByName(name string) (*transport.Interface, error) {
	for _, i := range n.ifaces {
		if i.Name == name {
			return i, nil
		}
	}
	return nil, errors.New("no such interface")
}

func newIfaceNet(t testing.TB, ifaces ...*transport.Interface) *ifaceNet {
	t.Helper()
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	return &ifaceNet{Net: n, ifaces: ifaces}
}

func iface(name string, flags net.Flags, cidrs ...string) *transport.Interface {
	i := transport.NewInterface(net.Interface{Index: 1, MTU: 1500, Name: name, Flags: flags})
	for _, c := range cidrs {
		ip, ipnet, err := net.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		ipnet.IP = ip
		i.AddAddress(ipnet)
	}
	return i
}

func TestHasNetwork(t *testing.T) {
	up := net.FlagUp | net.FlagMulticast
	lo := iface("lo", net.FlagUp|net.FlagLoopback, "127.0.0.1/8", "::1/128")
	for _, c := range []struct {
		name   string
		ifaces []*transport.Interface
		want   bool
	}{
		{"nothing", nil, false},
		{"loopback alone", []*transport.Interface{lo}, false},
		{"an address on eth0", []*transport.Interface{lo, iface("eth0", up, "192.0.2.2/24")}, true},
		{"a global IPv6 address", []*transport.Interface{lo, iface("eth0", up, "fe80::1/64", "2001:db8::2/64")}, true},
		{"eth0 down", []*transport.Interface{lo, iface("eth0", 0, "192.0.2.2/24")}, false},
		{"link-local only", []*transport.Interface{lo, iface("eth0", up, "fe80::1/64", "169.254.3.4/16")}, false},
		{"up with no address", []*transport.Interface{lo, iface("wlan0", up)}, false},
	} {
		if got := hasNetwork(newIfaceNet(t, c.ifaces...)); got != c.want {
			t.Errorf("%s: hasNetwork = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLoopbackWhenNoOtherNetwork: two engines on a machine whose only
// interface is loopback, with no ICE servers and no loopback option, gather
// loopback candidates on their own and connect.
func TestLoopbackWhenNoOtherNetwork(t *testing.T) {
	lo := func() *transport.Interface {
		return iface("lo", net.FlagUp|net.FlagLoopback, "127.0.0.1/8")
	}
	opts := func() []Option {
		return []Option{WithLoopback(false), WithNet(newIfaceNet(t, lo()))}
	}
	c := newCallPair(t, testEngine(t, opts()...), testEngine(t, opts()...))
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)
	waitFrames(t, ps, 5, 10*time.Second)
	pair, err := ds.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Address != "127.0.0.1" {
		t.Errorf("doctor's selected pair %v (%v): want one from 127.0.0.1", pair, err)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestNoNetworkEndsAtOnce: a doctor whose machine has no interface at all
// and no ICE server gathers no candidate, and the call ends with that reason
// (and a BYE for the patient), not after the ring or setup timeout.
func TestNoNetworkEndsAtOnce(t *testing.T) {
	doctor := testEngine(t, WithLoopback(false), WithNet(newIfaceNet(t)),
		WithRingTimeout(time.Minute), WithSetupTimeout(time.Minute))
	c := newCallPair(t, doctor, testEngine(t))
	ds := c.dial()
	end := c.doctorRec.waitState(t, StateEnded, 20*time.Second)
	if end.Reason != EndNoNetwork || !errors.Is(end.Err, ErrNoCandidates) {
		t.Fatalf("call ended with %v (%v); want %v with ErrNoCandidates", end.Reason, end.Err, EndNoNetwork)
	}
	if got := end.Reason.String(); got != "no network for media" {
		t.Errorf("reason reads %q", got)
	}
	waitDone(t, ds, 10*time.Second)
	if n := c.toPatient.count(SignalBye); n != 1 {
		t.Errorf("the patient was sent %d BYEs, want 1", n)
	}
	if n := c.toPatient.count(SignalCandidate); n != 0 {
		t.Errorf("the patient was sent %d candidates from a doctor with no network", n)
	}
	c.wait()
	if ps := c.ps; ps != nil {
		waitDone(t, ps, 10*time.Second)
	}
}
