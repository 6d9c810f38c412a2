package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/pion/webrtc/v4"

	"teleconsole/call"
	"teleconsole/uhiclient"
)

// peerFlags are the flags the console and the simulated patient share: how
// ICE reaches the other side, how lean the media starts, and the key that
// signs outbound requests.
type peerFlags struct {
	iceServers, turnUser, turnPass  string
	icePolicy                       icePolicyFlag
	loopback, lowBandwidth          bool
	privateKey, subscriberID, keyID string
}

// defaultPeerFlags are the shared flags' defaults: the reference apps' ICE
// servers and TURN credentials, as call knows them.
func defaultPeerFlags() peerFlags {
	var p peerFlags
	p.iceServers, p.turnUser, p.turnPass = call.DefaultICEFlags()
	return p
}

// register adds the shared flags to fs, each defaulting to its value in d;
// subscriberHelp says what an empty --subscriber-id means for this command.
func (p *peerFlags) register(fs *flag.FlagSet, d peerFlags, subscriberHelp string) {
	iceHelp := "comma-separated STUN/TURN URLs; \"\" means host candidates only"
	if d.iceServers == "" {
		// The flag package shows no default for an empty string.
		iceHelp += " (the default)"
	}
	fs.StringVar(&p.iceServers, "ice-servers", d.iceServers, iceHelp)
	fs.StringVar(&p.turnUser, "turn-user", d.turnUser, "username for the TURN servers")
	fs.StringVar(&p.turnPass, "turn-password", d.turnPass, "credential for the TURN servers")
	p.icePolicy = d.icePolicy
	fs.Var(&p.icePolicy, "ice-transport-policy", "`policy` of the candidates ICE may use: all (the default), or relay (TURN alone, for a firewall that lets nothing else out; needs a turn: or turns: URL in --ice-servers)")
	fs.BoolVar(&p.lowBandwidth, "low-bandwidth", d.lowBandwidth, "start calls in the lean mode (small picture, low bit rate) for a slow link")
	fs.BoolVar(&p.loopback, "loopback-candidates", d.loopback, "advanced: ICE on 127.0.0.1 alone (both peers on this machine, as in the interop tests)")
	fs.StringVar(&p.privateKey, "private-key", d.privateKey, "base64 PKCS#8 Ed25519 key to sign outbound requests with")
	fs.StringVar(&p.subscriberID, "subscriber-id", d.subscriberID, "subscriber id in the signing keyId"+subscriberHelp)
	fs.StringVar(&p.keyID, "key-id", d.keyID, "unique key id in the signing keyId (needed with --private-key)")
}

// ice parses --ice-servers with the TURN credentials.
func (p *peerFlags) ice() ([]webrtc.ICEServer, error) {
	return call.ParseICEServers(p.iceServers, p.turnUser, p.turnPass)
}

// iceOptions are the engine's ICE options: --ice-servers with the TURN
// credentials, and --ice-transport-policy.
func (p *peerFlags) iceOptions() ([]call.Option, error) {
	servers, err := p.ice()
	if err != nil {
		return nil, err
	}
	return []call.Option{call.WithICEServers(servers), call.WithICETransportPolicy(p.icePolicy.p)}, nil
}

// icePolicyFlag is --ice-transport-policy: all (the zero value) or relay.
type icePolicyFlag struct{ p webrtc.ICETransportPolicy }

func (f *icePolicyFlag) String() string { return f.p.String() }

func (f *icePolicyFlag) Set(s string) error {
	p, err := call.ParseICETransportPolicy(s)
	if err != nil {
		return err
	}
	f.p = p
	return nil
}

// signer turns --private-key, --subscriber-id (fallback when empty) and
// --key-id into a signer, or nil when no key is given.
func (p *peerFlags) signer(fallback string) (*uhiclient.Signer, error) {
	if p.privateKey == "" {
		return nil, nil
	}
	priv, err := uhiclient.ParsePrivateKey(p.privateKey)
	if err != nil {
		return nil, fmt.Errorf("--private-key: %w", err)
	}
	if p.keyID == "" {
		return nil, errors.New("--key-id is needed with --private-key")
	}
	sub := p.subscriberID
	if sub == "" {
		sub = fallback
	}
	return uhiclient.NewSigner(priv, sub, p.keyID)
}
