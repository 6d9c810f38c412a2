package call

import (
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// role is which side of the call a session plays.
type role int

const (
	// roleCaller sends the OFFER: the doctor. (No zero value is used.)
	roleCaller role = iota + 1
	// roleAnswerer answers it: the (simulated) patient.
	roleAnswerer
)

func (r role) String() string {
	switch r {
	case roleCaller:
		return "caller"
	case roleAnswerer:
		return "answerer"
	default:
		return "unknown"
	}
}

// eventBuffer is the capacity of Events. StatsEvents use at most half of it,
// so StateEvents always find room unless the reader stalls for a long time.
const eventBuffer = 32

// finalFlushTimeout bounds how long the ending session waits for a stalled
// Events reader before it closes the channel.
const finalFlushTimeout = 2 * time.Second

// Session is one call. Its state lives on one goroutine (the loop); pion
// callbacks and the methods below only post messages to it. All methods are
// safe for concurrent use.
type Session struct {
	e    *Engine
	id   string
	peer string
	role role
	log  *slog.Logger

	box    *mailbox[any]
	out    *outbox
	events chan Event
	ended  chan struct{} // closed when the call ends (before cleanup)
	done   chan struct{} // closed when everything is released

	state  atomic.Int32
	reason atomic.Int32

	media       *localMedia
	pc          *webrtc.PeerConnection
	bwe         cc.BandwidthEstimator
	statsGetter stats.Getter
	videoSender *webrtc.RTPSender
	audioSender *webrtc.RTPSender
	video       atomic.Pointer[remoteVideo]
	audio       atomic.Pointer[remoteAudio]
	lipSync     *syncMeter   // pairs the peer's sync marks and logs each (syncmark.go)
	playout     *playoutSync // holds the peer's sound back for its picture (playout.go)

	workersMu     sync.Mutex
	workersClosed bool
	workers       sync.WaitGroup
	// nudges are the nomination nudges (nudge.go), waited for before the
	// peer connection closes: pion's GetStats and Close race.
	nudges sync.WaitGroup

	// Owned by the loop goroutine.
	ending         bool
	pending        []Event
	held           []webrtc.ICECandidateInit
	seen           map[string]struct{}
	gathered       int // local candidates sent
	connectedAt    time.Time
	ringTimer      *time.Timer
	setupTimer     *time.Timer
	reconnectTimer *time.Timer
	closedTimer    *time.Timer
	target         int
	path           Path // the selected pair, as last reported
	sampler        sampler
	adapt          *adapter
}

// Loop messages.
type (
	msgSignal struct {
		sig   Signal
		reply chan error
	}
	msgEnd struct {
		reason EndReason
		err    error
	}
	msgICE       struct{ st webrtc.ICEConnectionState }
	msgPC        struct{ st webrtc.PeerConnectionState }
	msgCandidate struct{ c webrtc.ICECandidateInit }
	msgGathered  struct{} // local ICE gathering is complete
	msgSent      struct {
		sig Signal
		err error
	}
	msgBitrate struct{}            // the congestion controller's target changed
	msgPath    struct{ path Path } // ICE selected a candidate pair
)

// start builds a session for either role; see Dial and Answer.
func (e *Engine) start(peer string, r role, offer *webrtc.SessionDescription, out Signaller) (*Session, error) {
	id := fmt.Sprintf("call-%d", e.callSeq.Add(1))
	log := e.log.With("call", id, "peer", peer, "role", r.String())
	m, err := e.openMedia(id)
	if err != nil {
		return nil, fmt.Errorf("open media: %w", err)
	}
	sa, err := e.newAPI(m.selector, &m.capture)
	if err != nil {
		m.close()
		return nil, err
	}
	pc, err := sa.api.NewPeerConnection(webrtc.Configuration{ICEServers: e.iceServers, ICETransportPolicy: e.icePolicy})
	if err != nil {
		m.close()
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	s := &Session{
		e: e, id: id, peer: peer, role: r, log: log, lipSync: newLipSyncMeter(log), playout: newLoggedPlayoutSync(log),
		box:    newMailbox[any](),
		events: make(chan Event, eventBuffer),
		ended:  make(chan struct{}),
		done:   make(chan struct{}),
		media:  m,
		pc:     pc,
		seen:   make(map[string]struct{}),
		target: e.startBitrate,
		adapt:  newAdapter(e.lowBandwidth),
	}
	m.level.Store(int32(s.adapt.level))
	select {
	case s.bwe = <-sa.bwe:
		s.bwe.OnTargetBitrateChange(func(int) { s.box.push(msgBitrate{}) })
	default:
	}
	select {
	case s.statsGetter = <-sa.stats:
	default:
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil { // the end of gathering; UHI has no marker for it
			s.box.push(msgGathered{})
			return
		}
		s.box.push(msgCandidate{c.ToJSON()})
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) { s.box.push(msgICE{st}) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) { s.box.push(msgPC{st}) })
	pc.OnTrack(s.onTrack)

	first, err := s.negotiate(offer)
	if err != nil {
		_ = pc.Close()
		m.close()
		return nil, err
	}
	// Every change of the selected pair, the first included, is logged and
	// reported (msgPath). Media is bundled on one transport, the video
	// sender's.
	if dtls := s.videoSender.Transport(); dtls != nil {
		if ice := dtls.ICETransport(); ice != nil {
			ice.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) { s.box.push(msgPath{pathOf(p)}) })
		}
	}
	// docs/stack.md, "pion interceptors": incoming RTCP reaches the interceptors only when read;
	// mediadevices reads the video sender's, we read the audio sender's.
	s.startWorker(func() {
		drainRTCP(func(b []byte) (int, error) { n, _, err := s.audioSender.Read(b); return n, err }, nil)
	})

	s.out = newOutbox(out, e.signalTimeout, log, func(sig Signal, err error) { s.box.push(msgSent{sig, err}) })
	s.out.send(first)
	if r == roleCaller {
		s.setState(StateCalling, nil)
		s.ringTimer = time.NewTimer(e.ringTimeout)
	} else {
		s.setState(StateConnecting, nil)
		s.setupTimer = time.NewTimer(e.setupTimeout)
	}
	log.Info("call started", "media", *m.source.Load())
	go s.loop()
	return s, nil
}

// negotiate adds the local tracks and makes the first local description:
// the OFFER for the caller, the ANSWER to offer for the answerer.
func (s *Session) negotiate(offer *webrtc.SessionDescription) (Signal, error) {
	var err error
	if offer != nil {
		// Answerer: remote description first, so AddTrack reuses the offered
		// transceivers instead of adding new m-lines.
		if err = s.pc.SetRemoteDescription(*offer); err != nil {
			return Signal{}, fmt.Errorf("set remote offer: %w", err)
		}
	}
	if s.videoSender, err = s.pc.AddTrack(streamTrack{s.media.video, s.media.stream}); err != nil {
		return Signal{}, fmt.Errorf("add video track: %w", err)
	}
	if s.audioSender, err = s.pc.AddTrack(streamTrack{s.media.audio, s.media.stream}); err != nil {
		return Signal{}, fmt.Errorf("add audio track: %w", err)
	}
	var desc webrtc.SessionDescription
	kind := SignalOffer
	if offer == nil {
		desc, err = s.pc.CreateOffer(nil)
	} else {
		kind = SignalAnswer
		desc, err = s.pc.CreateAnswer(nil)
	}
	if err != nil {
		return Signal{}, fmt.Errorf("create %v: %w", kind, err)
	}
	if err = s.pc.SetLocalDescription(desc); err != nil {
		return Signal{}, fmt.Errorf("set local %v: %w", kind, err)
	}
	return Signal{Kind: kind, Description: &desc}, nil
}

// Handle applies a signal from the peer: ANSWER, CANDIDATE or BYE for the
// caller; OFFER (an ICE restart), CANDIDATE or BYE for the answerer. Repeated
// descriptions and candidates are ignored (docs/protocol.md §3, §6);
// candidates that arrive before the remote description are held and applied
// once it is set. It returns ErrEnded after the call ended.
func (s *Session) Handle(sig Signal) error {
	if !sig.valid() {
		return fmt.Errorf("%w: %v", ErrBadSignal, sig.Kind)
	}
	reply := make(chan error, 1)
	select {
	case <-s.ended:
		return ErrEnded
	default:
	}
	if !s.box.push(msgSignal{sig, reply}) {
		return ErrEnded
	}
	select {
	case err := <-reply:
		return err
	case <-s.ended:
		select {
		case err := <-reply:
			return err
		default:
			return ErrEnded
		}
	}
}

// Hangup ends the call as the local user's decision: it sends BYE and ends
// with EndHangup. Calling it again, or after the call ended, does nothing.
func (s *Session) Hangup() { s.Close(EndHangup) }

// Close ends the call with reason (EndShutdown when the console closes;
// EndUnknown is taken as EndShutdown). The peer is sent a BYE unless it has
// already left (EndRemoteBye, EndDeclined, EndRejoined) or could not be
// reached (EndUnreachable). Close does not wait: use Done. Only the first end counts.
func (s *Session) Close(reason EndReason) {
	if reason == EndUnknown {
		reason = EndShutdown
	}
	s.box.push(msgEnd{reason: reason})
}

// Events returns the call's events: StateEvents and, about once a second
// while the call is up, StatsEvents. A slow reader loses StatsEvents, not
// StateEvents. The channel is closed after the final StateEnded event, once
// the call's resources are released.
func (s *Session) Events() <-chan Event { return s.events }

// Done is closed when the call has ended and released everything: peer
// connection, devices, goroutines.
func (s *Session) Done() <-chan struct{} { return s.done }

// State returns the call's current state.
func (s *Session) State() State { return State(s.state.Load()) }

// Reason returns why the call ended, or EndUnknown while it is up.
func (s *Session) Reason() EndReason { return EndReason(s.reason.Load()) }

// Peer returns the address the session was created for.
func (s *Session) Peer() string { return s.peer }

// MediaSource says where this call's picture and sound come from; it
// changes if a device fails to open while the call rings.
func (s *Session) MediaSource() string { return *s.media.source.Load() }

// SetMicMuted mutes (sends silence) or unmutes the microphone.
func (s *Session) SetMicMuted(muted bool) { s.media.micMuted.Store(muted) }

// SetCameraOff sends black frames instead of the picture, or resumes it.
func (s *Session) SetCameraOff(off bool) { s.media.cameraOff.Store(off) }

// Frame returns the latest decoded frame of the peer's video, reduced for
// display to at most 320x240 by an integer factor (a 640x480 picture comes
// out at 320x240, smaller ones whole), and its sequence number, or nil and 0
// before the first. The image is never modified afterwards; the UI may keep
// it. Stats report the size as decoded.
func (s *Session) Frame() (*image.RGBA, uint64) {
	if v := s.video.Load(); v != nil {
		return v.frame()
	}
	return nil, 0
}

// Snapshot returns frame seq of the peer's video (a sequence number Frame
// returned) at the size it was decoded at, as a new image, if it is one of
// the last two frames Frame handed out.
func (s *Session) Snapshot(seq uint64) (image.Image, error) {
	if v := s.video.Load(); v != nil {
		if img, ok := v.snapshot(seq); ok {
			return img, nil
		}
	}
	return nil, ErrNoFrame
}

// FramesDecoded returns how many frames of the peer's video were decoded.
func (s *Session) FramesDecoded() uint64 {
	if v := s.video.Load(); v != nil {
		return v.decoded.Load()
	}
	return 0
}

// onTrack starts the readers of a remote track. It runs on a pion goroutine
// and only starts goroutines.
func (s *Session) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	s.log.Info("remote track", "kind", track.Kind().String(), "codec", track.Codec().MimeType)
	s.startWorker(func() {
		drainRTCP(func(b []byte) (int, error) { n, _, err := recv.Read(b); return n, err }, s.playout.senderReport)
	})
	switch track.Kind() {
	case webrtc.RTPCodecTypeVideo:
		v := newRemoteVideo(track, pliFor(s.pc, track), s.log.Debug)
		v.playout = s.playout
		v.sync.Store(s.lipSync)
		s.video.Store(v)
		s.startWorker(v.run)
	case webrtc.RTPCodecTypeAudio:
		a := &remoteAudio{track: track, playout: s.playout, speaker: &s.media.speaker}
		a.sync.Store(s.lipSync)
		s.audio.Store(a)
		s.startWorker(a.run)
	}
}

// startWorker runs f on a goroutine the session waits for at the end.
func (s *Session) startWorker(f func()) bool {
	s.workersMu.Lock()
	defer s.workersMu.Unlock()
	if s.workersClosed {
		return false
	}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		f()
	}()
	return true
}
