package call

import (
	"fmt"
	"net"
	"strconv"

	"github.com/pion/webrtc/v4"
)

// Path is the call's selected ICE candidate pair: the way its media goes.
// The zero Path means no pair is selected yet.
type Path struct {
	// LocalType and RemoteType are the two candidates' kinds: host, srflx,
	// prflx or relay.
	LocalType, RemoteType string
	// Local and Remote are the candidates' addresses, host:port. A relay
	// candidate's address is the one its TURN server allocated (its relayed
	// transport address), the address the TURN server sends from.
	Local, Remote string
	// Protocol is the transport to the peer's candidate: udp or tcp.
	Protocol string
}

// Known reports whether a pair is selected.
func (p Path) Known() bool { return p.LocalType != "" }

// String writes the pair as local type -> remote type, e.g. "host->relay".
func (p Path) String() string {
	if !p.Known() {
		return ""
	}
	return p.LocalType + "->" + p.RemoteType
}

// Relay is the TURN allocation the media goes through, and whose it is:
// the local side's when the local candidate is a relay (it is then on the
// path whatever the remote is), else the remote side's, else "".
func (p Path) Relay() (addr string, local bool) {
	switch {
	case p.LocalType == webrtc.ICECandidateTypeRelay.String():
		return p.Local, true
	case p.RemoteType == webrtc.ICECandidateTypeRelay.String():
		return p.Remote, false
	}
	return "", false
}

// pathOf describes a selected pair, or returns the zero Path for nil.
func pathOf(pair *webrtc.ICECandidatePair) Path {
	if pair == nil || pair.Local == nil || pair.Remote == nil {
		return Path{}
	}
	addr := func(c *webrtc.ICECandidate) string {
		return net.JoinHostPort(c.Address, strconv.Itoa(int(c.Port)))
	}
	return Path{
		LocalType: pair.Local.Typ.String(), RemoteType: pair.Remote.Typ.String(),
		Local: addr(pair.Local), Remote: addr(pair.Remote),
		Protocol: pair.Remote.Protocol.String(),
	}
}

// logAttrs are the pair as log attributes.
func (p Path) logAttrs() []any {
	attrs := []any{"path", p.String(),
		"local", fmt.Sprintf("%s %s/%s", p.LocalType, p.Local, p.Protocol),
		"remote", fmt.Sprintf("%s %s/%s", p.RemoteType, p.Remote, p.Protocol)}
	if relay, local := p.Relay(); relay != "" {
		whose := "remote"
		if local {
			whose = "local"
		}
		attrs = append(attrs, "relay", relay, "relay_side", whose)
	}
	return attrs
}
