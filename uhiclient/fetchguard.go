package uhiclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrFetchRefused means a content_url was not fetched because the address
// it would connect to is inside: loopback, private, link-local,
// unique-local or multicast, and not in FetchPolicy.Allow (docs/protocol.md §7).
var ErrFetchRefused = errors.New("content_url refused")

// RefusedError is a fetch refused by FetchPolicy: the address and why. It
// is ErrFetchRefused.
type RefusedError struct {
	Addr netip.Addr
	// Why is what kind of address it is ("a private address").
	Why string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is %s (--fetch-allow to fetch from it)", e.Addr, e.Why)
}

// Is makes a RefusedError ErrFetchRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrFetchRefused }

// maxMediaRedirects is how many redirects a content_url fetch follows.
const maxMediaRedirects = 5

// FetchPolicy says what a content_url fetch may connect to. Any patient, or
// anyone able to post a signed message, chooses the URL: without it the
// doctor's workstation would request addresses inside the hospital's
// network for them. The zero value refuses every inside address.
type FetchPolicy struct {
	// Allow are networks fetched from although they are inside, for a
	// media server on the clinic's own LAN (--fetch-allow).
	Allow []netip.Prefix
	// Dialer is the dialer fetches use, nil for a default one. Its
	// Resolver resolves names; its ControlContext or Control, if any,
	// runs after the policy's check, on addresses the policy let through.
	Dialer *net.Dialer
}

// ParseFetchAllow reads --fetch-allow: CIDRs separated by commas (a bare
// address is one host); "" allows none.
func ParseFetchAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR (e.g. 192.168.10.0/24): %v", f, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Check returns why a fetch may not connect to addr (a *RefusedError), or
// nil.
func (p FetchPolicy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	for _, n := range p.Allow {
		if n.Contains(addr) {
			return nil
		}
	}
	if why := inside(addr); why != "" {
		return &RefusedError{Addr: addr, Why: why}
	}
	return nil
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedNAT   = netip.MustParsePrefix("100.64.0.0/10")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	broadcast   = netip.MustParseAddr("255.255.255.255")
)

// inside says what kind of inside address a is, or "" for one on the
// internet.
func inside(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate() && a.Is6():
		return "a unique-local address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast(), a == broadcast:
		return "a multicast address"
	case a.IsUnspecified(), thisNetwork.Contains(a):
		// Connecting to 0.0.0.0 reaches this machine.
		return "this machine's unspecified address"
	case sharedNAT.Contains(a):
		return "a carrier-grade NAT address"
	case nat64.Contains(a):
		// The IPv4 address a NAT64 gateway would reach.
		b := a.As16()
		if why := inside(netip.AddrFrom4([4]byte(b[12:]))); why != "" {
			return why + " through NAT64"
		}
	}
	return ""
}

// control is the dialer's check, on the address about to be connected to:
// after DNS, so a name that resolves inside is refused too, and on every
// connection, so a redirect is checked where it leads.
func (p FetchPolicy) control(next func(ctx context.Context, network, address string, c syscall.RawConn) error) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(ctx context.Context, network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: dialling %q: %v", ErrFetchRefused, address, err)
		}
		if err := p.Check(ap.Addr()); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, network, address, c)
		}
		return nil
	}
}

// Client is the HTTP client that fetches content_urls under the policy,
// within MediaFetchTimeout. It uses no proxy: the address checked is the
// one connected to.
func (p FetchPolicy) Client() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if p.Dialer != nil {
		*d = *p.Dialer // a copy: the caller's is left as it was
	}
	next := d.ControlContext
	if next == nil && d.Control != nil {
		ctl := d.Control
		next = func(_ context.Context, network, address string, c syscall.RawConn) error {
			return ctl(network, address, c)
		}
	}
	d.Control, d.ControlContext = nil, p.control(next)
	t := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, Timeout: MediaFetchTimeout, CheckRedirect: p.checkRedirect}
}

// checkRedirect follows a few http(s) redirects; one to an address inside
// is refused at once (a name's addresses are checked when dialled).
func (p FetchPolicy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxMediaRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrBadMedia, maxMediaRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to %s", ErrBadMedia, req.URL.Redacted())
	}
	if a, err := netip.ParseAddr(req.URL.Hostname()); err == nil {
		return p.Check(a)
	}
	return nil
}
