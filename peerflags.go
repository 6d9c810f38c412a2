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
	loopback, lowBandwidth          bool
	privateKey, subscriberID, keyID string
}

// register adds the shared flags to fs; subscriberHelp says what an empty
// --subscriber-id means for this command.
func (p *peerFlags) register(fs *flag.FlagSet, subscriberDefault, subscriberHelp string) {
	fs.StringVar(&p.iceServers, "ice-servers", defaultICEServers, "comma-separated STUN/TURN URLs; \"\" means host candidates only")
	fs.StringVar(&p.turnUser, "turn-user", "openrelayproject", "username for the TURN servers")
	fs.StringVar(&p.turnPass, "turn-password", "openrelayproject", "credential for the TURN servers")
	fs.BoolVar(&p.lowBandwidth, "low-bandwidth", false, "start calls in the lean mode (small picture, low bit rate) for a slow link")
	fs.BoolVar(&p.loopback, "loopback-candidates", false, "advanced: ICE on 127.0.0.1 alone (both peers on this machine, as in the interop tests)")
	fs.StringVar(&p.privateKey, "private-key", "", "base64 PKCS#8 Ed25519 key to sign outbound requests with")
	fs.StringVar(&p.subscriberID, "subscriber-id", subscriberDefault, "subscriber id in the signing keyId"+subscriberHelp)
	fs.StringVar(&p.keyID, "key-id", "", "unique key id in the signing keyId (needed with --private-key)")
}

// ice parses --ice-servers with the TURN credentials.
func (p *peerFlags) ice() ([]webrtc.ICEServer, error) {
	return call.ParseICEServers(p.iceServers, p.turnUser, p.turnPass)
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
