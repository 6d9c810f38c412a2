package uhiclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"teleconsole/internal/dnstest"
)

func TestFetchPolicyCheck(t *testing.T) {
	var zero FetchPolicy
	for _, tc := range []struct{ addr, why string }{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fd00:ec2::254", "unique-local"},
		{"224.0.0.251", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"100.100.100.200", "carrier-grade NAT"},
		{"64:ff9b::a9fe:a9fe", "link-local address through NAT64"},
	} {
		err := zero.Check(netip.MustParseAddr(tc.addr))
		var refused *RefusedError
		if !errors.Is(err, ErrFetchRefused) || !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v, want refused as %s", tc.addr, err, tc.why)
		}
	}
	for _, a := range []string{"93.184.216.34", "8.8.8.8", "2606:2800:220:1::", "64:ff9b::808:808", "172.32.0.1", "100.128.0.1"} {
		if err := zero.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v, want allowed", a, err)
		}
	}
	lan := FetchPolicy{Allow: mustAllow(t, "192.168.10.0/24, 10.9.8.7")}
	for a, ok := range map[string]bool{"192.168.10.20": true, "10.9.8.7": true, "::ffff:192.168.10.20": true,
		"192.168.11.1": false, "10.9.8.6": false, "127.0.0.1": false} {
		if err := lan.Check(netip.MustParseAddr(a)); (err == nil) != ok {
			t.Errorf("--fetch-allow 192.168.10.0/24,10.9.8.7: %s: %v", a, err)
		}
	}
}

func mustAllow(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseFetchAllow(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFetchAllow(t *testing.T) {
	if p, err := ParseFetchAllow(""); err != nil || len(p) != 0 {
		t.Errorf(`"": %v, %v`, p, err)
	}
	if p, err := ParseFetchAllow("192.168.10.7/24,fd00::/8"); err != nil || fmt.Sprint(p) != "[192.168.10.0/24 fd00::/8]" {
		t.Errorf("two CIDRs: %v, %v", p, err)
	}
	for _, bad := range []string{"192.168.1/24", "lan", "10.0.0.0/33"} {
		if _, err := ParseFetchAllow(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}

// loopbackOnly is a dialer's control for tests: it lets through only
// loopback addresses, so a test's fetch can never send anything beyond
// this machine, even where the policy under test failed to refuse. It
// records every address it was asked about.
type loopbackOnly struct {
	mu   sync.Mutex
	seen []string
}

func (l *loopbackOnly) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	l.mu.Lock()
	l.seen = append(l.seen, address)
	l.mu.Unlock()
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("test safety net: would have connected to %s", address)
	}
	return nil
}

func (l *loopbackOnly) addresses() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// countingServer is an HTTP server on host that answers every request
// with body and counts them.
func countingServer(t *testing.T, host string, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s, &n
}

// TestFetchMediaRefusesInside: content_urls that lead inside, by address,
// by a name that resolves there, or by a redirect, are refused on the
// address the fetch would connect to, before anything is sent, with the
// reason; a network allowed is fetched from.
func TestFetchMediaRefusesInside(t *testing.T) {
	secret := []byte("router admin page")
	inside, insideHits := countingServer(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(secret)
	}))
	insidePort := inside.Listener.Addr().(*net.TCPAddr).Port
	// A server taken for one on the internet (127.0.0.2 allowed below)
	// that redirects inside.
	public, _ := countingServer(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/photo.jpg" {
			_, _ = w.Write([]byte("a photo"))
			return
		}
		http.Redirect(w, r, inside.URL+"/admin", http.StatusFound)
	}))
	publicPort := public.Listener.Addr().(*net.TCPAddr).Port
	dns, err := dnstest.NewServer(map[string][]netip.Addr{
		"media.clinic.test": {netip.MustParseAddr("127.0.0.1")},
		"cdn.example.com":   {netip.MustParseAddr("127.0.0.2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	safety := &loopbackOnly{}
	policy := FetchPolicy{
		Allow:  mustAllow(t, "127.0.0.2/32"),
		Dialer: &net.Dialer{Resolver: dns.Resolver(), ControlContext: safety.control},
	}
	client := policy.Client()
	for _, tc := range []struct{ url, why string }{
		{inside.URL + "/admin", "127.0.0.1 is a loopback address"},
		{"http://10.0.0.1/", "10.0.0.1 is a private address"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"},
		{"http://[::1]:9/x", "::1 is a loopback address"},
		{fmt.Sprintf("http://media.clinic.test:%d/admin", insidePort), "127.0.0.1 is a loopback address"},
		{fmt.Sprintf("http://cdn.example.com:%d/go", publicPort), "127.0.0.1 is a loopback address"},
	} {
		_, err := FetchMedia(context.Background(), client, tc.url, DefaultMaxMedia)
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "--fetch-allow") {
			t.Errorf("%s: %v, want refused: %s", tc.url, err, tc.why)
		}
	}
	if n := insideHits.Load(); n != 0 {
		t.Errorf("the server inside was sent %d requests", n)
	}
	for _, a := range safety.addresses() {
		if !strings.HasPrefix(a, "127.0.0.2:") {
			t.Errorf("a refused address got past the policy to the dialer: %s", a)
		}
	}
	got, err := FetchMedia(context.Background(), client, fmt.Sprintf("http://cdn.example.com:%d/photo.jpg", publicPort), DefaultMaxMedia)
	if err != nil || string(got) != "a photo" {
		t.Errorf("from an allowed network: %q, %v", got, err)
	}
}
