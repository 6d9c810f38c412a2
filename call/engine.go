package call

import (
	"fmt"
	"image"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"

	// The V4L2 camera driver registers /dev/video* devices with
	// mediadevices (docs/stack.md, "mediadevices": drivers register by blank import).
	_ "github.com/pion/mediadevices/pkg/driver/camera"
)

// Defaults of the Engine's options.
const (
	defaultRingTimeout       = 45 * time.Second
	defaultSetupTimeout      = 20 * time.Second
	defaultDisconnectTimeout = 4 * time.Second
	defaultReconnectTimeout  = 10 * time.Second
	defaultSignalTimeout     = 10 * time.Second
	defaultMinBitrate        = 100_000
	defaultStartBitrate      = 600_000
	defaultMaxBitrate        = 1_500_000
	defaultWidth             = 640
	defaultHeight            = 480
	defaultFPS               = 30
	maxNacksPerPacket        = 10

	// nominationGrace is how long, from the start of its checks, the
	// controlling agent holds back nominating a pair with a server-reflexive
	// or relay side (engine.go, newAPI). On loopback a check takes under a
	// millisecond and pion checks every 200 ms, so a direct pair checked in
	// the same round as the relayed one has answered long before; across
	// the Internet a direct pair's check answers within one RTT, tens of
	// milliseconds, before a relayed one's, which crosses the TURN server.
	nominationGrace = 50 * time.Millisecond
)

// Engine makes calls. It holds what all calls share: ICE servers, the media
// choice, bit-rate limits, timeouts and the logger. An Engine is safe for
// concurrent use; each call is an independent Session.
type Engine struct {
	iceServers        []webrtc.ICEServer
	icePolicy         webrtc.ICETransportPolicy
	media             Media
	log               *slog.Logger
	ringTimeout       time.Duration
	setupTimeout      time.Duration
	disconnectTimeout time.Duration
	reconnectTimeout  time.Duration
	signalTimeout     time.Duration
	minBitrate        int
	startBitrate      int
	maxBitrate        int
	loopback          bool
	width, height     int
	fps               int
	playback          bool
	audioProc         AudioProcessing
	cameraName        string // the devices chosen by name; "" for the defaults
	micName           string
	speakerName       string
	lowBandwidth      bool
	now               func() time.Time
	picture           image.Image // WithPicture: the synthetic camera's still picture

	hasCamera bool
	// Whether the microphone and the speaker were there at the last look:
	// at New, then at each call's opening (sound.go).
	hasMic, hasSpeaker atomic.Bool

	// openCam, openMic and openSpk open a call's camera, microphone and
	// speaker (openCamera, openMicrophone, openSpeaker; tests put in
	// devices that are slow to open, fail, or stop).
	openCam func() (sourceInput[image.Image], error)
	openMic func(id, name string, proc *audioProcessor) (sourceInput[wave.Audio], error)
	openSpk func(name string, proc *audioProcessor) (*speaker, error)

	// codecParams makes each call's VP8 and Opus parameters
	// (newCodecParams; tests make it fail).
	codecParams func() (vpx.VP8Params, opus.Params, error)

	// testNet replaces pion's network (WithNet; tests make a peer go silent
	// with it, or put it in a network namespace).
	testNet transport.Net

	source      atomic.Pointer[string]
	liveSources atomic.Int64 // test hook: sources opened and not yet closed
	openedTotal atomic.Int64 // test hook: sources ever opened
	callSeq     atomic.Uint64
}

// New returns an Engine configured by opts. It looks for a camera, a
// microphone and a speaker once, so MediaSource can say what calls will use.
func New(opts ...Option) (*Engine, error) {
	e := &Engine{
		iceServers:        DefaultICEServers(),
		media:             MediaAuto,
		log:               slog.New(slog.DiscardHandler),
		ringTimeout:       defaultRingTimeout,
		setupTimeout:      defaultSetupTimeout,
		disconnectTimeout: defaultDisconnectTimeout,
		reconnectTimeout:  defaultReconnectTimeout,
		signalTimeout:     defaultSignalTimeout,
		minBitrate:        defaultMinBitrate,
		startBitrate:      defaultStartBitrate,
		maxBitrate:        defaultMaxBitrate,
		width:             defaultWidth,
		height:            defaultHeight,
		fps:               defaultFPS,
		playback:          true,
		audioProc:         DefaultAudioProcessing(),
		now:               time.Now,
		codecParams:       newCodecParams,
		openMic:           openMicInput,
		openSpk:           openSpeaker,
	}
	e.openCam = e.openCamera
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, err
		}
	}
	if e.icePolicy == webrtc.ICETransportPolicyRelay && !hasTURN(e.iceServers) {
		return nil, fmt.Errorf("%w: ICE transport policy relay needs a TURN server (turn: or turns: URL)", ErrInvalidOption)
	}
	if e.media != MediaSynthetic {
		var err error
		if e.hasCamera, err = cameraPresent(e.cameraName); err != nil {
			return nil, err
		}
		mic, err := hasAudioDevice(DeviceMicrophone, e.micName)
		if err != nil {
			return nil, err
		}
		e.hasMic.Store(mic)
	}
	if e.playback {
		spk, err := hasAudioDevice(DeviceSpeaker, e.speakerName)
		if err != nil {
			return nil, err
		}
		e.hasSpeaker.Store(spk)
	}
	src := describeSource(e.media, e.hasCamera, e.hasMic.Load())
	e.source.Store(&src)
	e.log.Info("call engine ready", "media", src, "speaker", e.hasSpeaker.Load(), "ice_servers", len(e.iceServers),
		"ice_transport_policy", e.icePolicy.String())
	return e, nil
}

// MediaSource says in plain words where calls get their picture and sound,
// e.g. "devices", "synthetic" or "synthetic (no camera found)". It reflects
// the last call's fallback if a device disappeared.
func (e *Engine) MediaSource() string { return *e.source.Load() }

func describeSource(m Media, camera, mic bool) string {
	switch {
	case m == MediaSynthetic:
		return "synthetic"
	case m == MediaDevices || (camera && mic):
		return "devices"
	case !camera && !mic:
		return "synthetic (no camera or microphone found)"
	case !camera:
		return "synthetic video (no camera found), microphone"
	default:
		return "camera, synthetic tone (no microphone found)"
	}
}

// cameraPresent reports whether mediadevices knows a camera, and if name
// is given, whether it is one of them (ErrNoDevice if not).
func cameraPresent(name string) (bool, error) {
	cams := cameras()
	if len(cams) == 0 || name == "" {
		return len(cams) > 0, nil
	}
	if _, err := cameraID(name); err != nil {
		return false, err
	}
	return true, nil
}

// sessionAPI is one call's pion API and the hooks its interceptors report to.
type sessionAPI struct {
	api   *webrtc.API
	bwe   chan cc.BandwidthEstimator
	stats chan stats.Getter
}

// newAPI builds the pion API for one call: codecs, interceptors (NACK, RTCP
// reports, TWCC, GCC, stats) and the setting engine. Per call, so that the
// congestion controller and the stats getter belong to this call only.
func (e *Engine) newAPI(selector *mediadevices.CodecSelector, capture *captureClock) (*sessionAPI, error) {
	lf := slogFactory{log: e.log}
	me := &webrtc.MediaEngine{}
	// docs/stack.md, "pion interceptors": populate codecs BEFORE the default interceptors, or they get
	// no NACK/PLI/TWCC feedback. Only VP8 and Opus are registered, so the
	// OFFER carries nothing else (docs/protocol.md §4).
	selector.Populate(me)

	reg := &interceptor.Registry{}
	sa := &sessionAPI{bwe: make(chan cc.BandwidthEstimator, 1), stats: make(chan stats.Getter, 1)}

	var estimator atomic.Pointer[gcc.SendSideBWE] // this call's, once its peer connection has one
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		pacer := newSendPacer(e.startBitrate, lf.NewLogger("pacer"))
		bwe, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(e.startBitrate),
			gcc.SendSideBWEMinBitrate(e.minBitrate),
			gcc.SendSideBWEMaxBitrate(e.maxBitrate),
			gcc.SendSideBWEPacer(pacer),
			gcc.WithLoggerFactory(lf),
		)
		if err != nil {
			_ = pacer.Close()
			return nil, err
		}
		estimator.Store(bwe)
		return bwe, nil
	})
	if err != nil {
		return nil, fmt.Errorf("congestion control: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, est cc.BandwidthEstimator) {
		select {
		case sa.bwe <- est:
		default:
		}
	})
	reg.Add(ccf)
	// Between the pacer (in ccf) and the transport-wide sequence numbers,
	// which the pacer gives again in the order packets leave (sendpacer.go).
	reg.Add(pacingTaggerFactory{})
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, reg); err != nil {
		return nil, fmt.Errorf("twcc header extension: %w", err)
	}

	sf, err := stats.NewInterceptor(stats.WithLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("stats interceptor: %w", err)
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) {
		select {
		case sa.stats <- g:
		default:
		}
	})
	reg.Add(sf)
	// Between the NACK responder (added next) and stats, so that what it
	// drops is neither counted as sent nor given a transport sequence number.
	reg.Add(rtxLimiterFactory{log: lf.NewLogger("rtx"), target: func() int {
		if b := estimator.Load(); b != nil {
			return b.GetTargetBitrate()
		}
		return e.startBitrate
	}})
	// The rest of webrtc.RegisterDefaultInterceptors, each with our logger.
	// NACKs for one packet are capped: pion's default asks again every
	// interval for as long as the packet is in the window, and when the
	// sender pauses video (audio only) the window stops moving, so
	// the two sides traded retransmissions at megabits per second on a link
	// already too slow for video.
	if err := webrtc.ConfigureNackWithOptions(me, reg,
		[]nack.GeneratorOption{nack.WithGeneratorLoggerFactory(lf), nack.GeneratorMaxNacksPerPacket(maxNacksPerPacket)},
		nack.WithResponderLoggerFactory(lf)); err != nil {
		return nil, fmt.Errorf("nack: %w", err)
	}
	// Receiver reports from pion; sender reports from the call's capture
	// clock (captureclock.go), added last so that it is the outermost.
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}
	reg.Add(rr)
	if err := webrtc.ConfigureTWCCSenderWithOptions(me, reg, twcc.WithLoggerFactory(lf)); err != nil {
		return nil, fmt.Errorf("twcc sender: %w", err)
	}
	reg.Add(senderClockFactory{clock: capture, log: lf.NewLogger("sender-clock")})

	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetICETimeouts(e.disconnectTimeout, 3*e.disconnectTimeout, max(e.disconnectTimeout/4, 200*time.Millisecond))
	// Nomination. pion's controlling agent nominates a succeeded pair only
	// after a minimum wait per candidate type, counted from the start of
	// its checks: host 0, server-reflexive 500 ms, peer-reflexive 1 s,
	// relay 2 s. Every call whose best pair had a relay or a peer-reflexive
	// side waited that long, when its check had succeeded within
	// milliseconds: through a TURN server on loopback, with the Chromium
	// patient relay-only, 2,360 ms from Enter to the patient's first frame
	// against 305 ms for the Chromium doctor, which has no such wait (201
	// to 289 ms with these settings, BenchmarkSideBySideTURN, on a busy
	// machine); with the patients' app, which posts its
	// candidates about a second late, the pair is learnt from its checks as
	// peer-reflexive (RFC 8445 §7.3.1.3), 1,080 ms against 76 ms with
	// candidates sent at once.
	//
	// A peer-reflexive pair has just carried a check both ways: no wait.
	// Server-reflexive and relay pairs wait nominationGrace, so that a
	// direct pair whose check is a little slower still wins the first
	// nomination (the agent nominates the best succeeded pair, by RFC 8445
	// priority); a direct pair that succeeds later still takes over through
	// renomination, below.
	se.SetHostAcceptanceMinWait(0)
	se.SetPrflxAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(nominationGrace)
	se.SetRelayAcceptanceMinWait(nominationGrace)
	// Renomination (draft-thatcher-ice-renomination, as libwebrtc does it):
	// once connected, the controlling agent keeps checking every pair and
	// nominates again, with a higher NOMINATION value, a pair that is
	// direct where the selected one is relayed, or clearly faster; at most
	// once per pion's default interval (3 s, libwebrtc's). The controlled
	// side follows the highest value (libwebrtc and pion both do).
	if err := se.SetICERenomination(); err != nil {
		return nil, fmt.Errorf("ice renomination: %w", err)
	}
	loopback := e.loopback
	if !loopback && !hasNetwork(e.network()) {
		// A container, a sandbox or a laptop offline with both sides on it:
		// pion leaves loopback out, so the call would have no candidate.
		loopback = true
		e.log.Info("no network interface but loopback: media on loopback")
	}
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if e.testNet != nil {
		// A network given by WithNet is a namespace or a virtual network:
		// multicast DNS would reach past it, and host addresses are all it has.
		se.SetNet(e.testNet)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	sa.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return sa, nil
}

// network is the network calls use: WithNet's, or the machine's.
func (e *Engine) network() transport.Net {
	if e.testNet != nil {
		return e.testNet
	}
	n, err := stdnet.NewNet()
	if err != nil {
		return nil
	}
	return n
}

// hasNetwork reports whether n has an interface other than loopback that is
// up and has an address other than a link-local one: somewhere a host
// candidate could come from (pion gathers no link-local addresses).
func hasNetwork(n transport.Net) bool {
	if n == nil {
		return true // unknown: leave pion's defaults alone
	}
	ifaces, err := n.Interfaces()
	if err != nil {
		return true
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			var ip net.IP
			switch a := a.(type) {
			case *net.IPNet:
				ip = a.IP
			case *net.IPAddr:
				ip = a.IP
			}
			if ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsUnspecified() {
				return true
			}
		}
	}
	return false
}

// sourceOpened and sourceClosed count media sources, so tests can prove
// devices are released after every call (docs/stack.md, "mediadevices").
func (e *Engine) sourceOpened() { e.liveSources.Add(1); e.openedTotal.Add(1) }
func (e *Engine) sourceClosed() { e.liveSources.Add(-1) }

// Dial calls peer as the doctor: it opens local media, sends the OFFER (VP8
// and Opus) through out, then trickles local candidates at once. The returned
// Session is in StateCalling. Errors before the OFFER is sent are returned;
// later failures end the session with a reason. If out.Send fails for the
// OFFER the call ends with EndUnreachable; later Send failures (candidates,
// an ICE-restart OFFER, BYE) are logged only, and a call that suffers from
// them ends through the setup or reconnect timeout.
func (e *Engine) Dial(peer string, out Signaller) (*Session, error) {
	if out == nil {
		return nil, ErrNoSignaller
	}
	return e.start(peer, roleCaller, nil, out)
}

// Answer takes a call from peer as the patient (the simulated patient uses
// it): it opens local media, applies offer, sends the ANSWER through out, then
// trickles local candidates. The returned Session is in StateConnecting.
func (e *Engine) Answer(peer string, offer webrtc.SessionDescription, out Signaller) (*Session, error) {
	if out == nil {
		return nil, ErrNoSignaller
	}
	if !(Signal{Kind: SignalOffer, Description: &offer}).valid() {
		return nil, fmt.Errorf("%w: answer needs an SDP offer", ErrBadSignal)
	}
	return e.start(peer, roleAnswerer, &offer, out)
}
