package call

import (
	"fmt"
	"strings"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// The reference apps' ICE servers, docs/protocol.md §4.
const (
	openRelayUser       = "openrelayproject"
	openRelayCredential = "openrelayproject"
)

// DefaultICEServers returns the ICE servers the reference apps use
// (docs/protocol.md §4): Google's public STUN server and the public
// OpenRelay TURN servers. Clinics should replace them with their own.
func DefaultICEServers() []webrtc.ICEServer {
	return []webrtc.ICEServer{
		{URLs: []string{"stun:stun.l.google.com:19302"}},
		{
			URLs: []string{
				"turn:openrelay.metered.ca:80",
				"turn:openrelay.metered.ca:443",
				"turn:openrelay.metered.ca:443?transport=tcp",
			},
			Username:   openRelayUser,
			Credential: openRelayCredential,
		},
	}
}

// DefaultICEFlags returns DefaultICEServers as ParseICEServers takes them
// back: the URLs comma-separated, and the TURN username and credential. A
// command line's defaults come from here, so the list is written once.
func DefaultICEFlags() (list, username, credential string) {
	var urls []string
	for _, s := range DefaultICEServers() {
		urls = append(urls, s.URLs...)
		if s.Username != "" {
			username = s.Username
		}
		if c, ok := s.Credential.(string); ok && c != "" {
			credential = c
		}
	}
	return strings.Join(urls, ","), username, credential
}

// ParseICEServers turns a comma-separated list of stun:, stuns:, turn: and
// turns: URLs into ICE servers. username and credential apply to every TURN
// URL. An empty or blank list means no servers: host candidates only
// (docs/protocol.md §4).
func ParseICEServers(list, username, credential string) ([]webrtc.ICEServer, error) {
	var stuns, turns []string
	for _, raw := range strings.Split(list, ",") {
		u := strings.TrimSpace(raw)
		if u == "" {
			continue
		}
		parsed, err := stun.ParseURI(u)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadICEServer, u, err)
		}
		switch parsed.Scheme {
		case stun.SchemeTypeTURN, stun.SchemeTypeTURNS:
			turns = append(turns, u)
		default:
			stuns = append(stuns, u)
		}
	}
	var servers []webrtc.ICEServer
	if len(stuns) > 0 {
		servers = append(servers, webrtc.ICEServer{URLs: stuns})
	}
	if len(turns) > 0 {
		if username == "" || credential == "" {
			return nil, fmt.Errorf("%w: TURN servers need a username and a credential", ErrBadICEServer)
		}
		servers = append(servers, webrtc.ICEServer{URLs: turns, Username: username, Credential: credential})
	}
	return servers, nil
}

// hasTURN reports whether servers has a turn: or turns: URL.
func hasTURN(servers []webrtc.ICEServer) bool {
	for _, s := range servers {
		for _, u := range s.URLs {
			if parsed, err := stun.ParseURI(u); err == nil &&
				(parsed.Scheme == stun.SchemeTypeTURN || parsed.Scheme == stun.SchemeTypeTURNS) {
				return true
			}
		}
	}
	return false
}

// ParseICETransportPolicy turns "all" (or "") or "relay" into the policy
// of the same name (W3C WebRTC, RTCIceTransportPolicy): all candidates, or
// relay candidates alone, for a network that lets nothing but TURN out.
func ParseICETransportPolicy(s string) (webrtc.ICETransportPolicy, error) {
	switch s {
	case "all", "":
		return webrtc.ICETransportPolicyAll, nil
	case "relay":
		return webrtc.ICETransportPolicyRelay, nil
	default:
		return webrtc.ICETransportPolicyAll, fmt.Errorf("%w: ICE transport policy %q (want all or relay)", ErrInvalidOption, s)
	}
}
