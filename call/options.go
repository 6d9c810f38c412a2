package call

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"
)

// Media says where a call's local picture and sound come from.
type Media int

// The media choices. The zero value is MediaUnknown, which New treats as
// MediaAuto.
const (
	// MediaUnknown is the zero value; New uses MediaAuto.
	MediaUnknown Media = iota
	// MediaAuto uses the camera and microphone when present and synthetic
	// media for whichever is missing, saying so in Engine.MediaSource.
	MediaAuto
	// MediaDevices uses the camera and microphone and nothing synthetic.
	// They open while the call rings; one that fails to is replaced by a
	// black picture or silence, and the call screen says so (Stats.Note).
	MediaDevices
	// MediaSynthetic always uses a moving test picture with a clock and a
	// 440 Hz tone.
	MediaSynthetic
)

// String names the media choice as a flag value would.
func (m Media) String() string {
	switch m {
	case MediaAuto:
		return "auto"
	case MediaDevices:
		return "devices"
	case MediaSynthetic:
		return "synthetic"
	default:
		return "unknown"
	}
}

// ParseMedia turns "auto", "devices" or "synthetic" into a Media.
func ParseMedia(s string) (Media, error) {
	switch s {
	case "auto", "":
		return MediaAuto, nil
	case "devices":
		return MediaDevices, nil
	case "synthetic":
		return MediaSynthetic, nil
	default:
		return MediaUnknown, fmt.Errorf("%w: media %q (want auto, devices or synthetic)", ErrInvalidOption, s)
	}
}

// Option configures an Engine. Options that get a value they cannot use
// return an error wrapping ErrInvalidOption, and New fails with it.
type Option func(*Engine) error

// WithICEServers sets the STUN/TURN servers. An empty or nil list means host
// candidates only (LAN use and tests, docs/protocol.md §4). Without
// this option the engine uses DefaultICEServers.
func WithICEServers(servers []webrtc.ICEServer) Option {
	return func(e *Engine) error {
		e.iceServers = append([]webrtc.ICEServer(nil), servers...)
		return nil
	}
}

// WithICETransportPolicy chooses which local candidates ICE uses:
// webrtc.ICETransportPolicyAll (the default) or ICETransportPolicyRelay,
// TURN relay candidates alone, for a clinic whose firewall lets nothing
// else out. New fails if the policy is relay and no TURN server is given.
func WithICETransportPolicy(p webrtc.ICETransportPolicy) Option {
	return func(e *Engine) error {
		switch p {
		case webrtc.ICETransportPolicyAll, webrtc.ICETransportPolicyRelay:
		default:
			return fmt.Errorf("%w: ICE transport policy %v", ErrInvalidOption, p)
		}
		e.icePolicy = p
		return nil
	}
}

// WithMedia chooses the local media source (default MediaAuto).
func WithMedia(m Media) Option {
	return func(e *Engine) error {
		switch m {
		case MediaUnknown:
			m = MediaAuto
		case MediaAuto, MediaDevices, MediaSynthetic:
		default:
			return fmt.Errorf("%w: media %d", ErrInvalidOption, int(m))
		}
		e.media = m
		return nil
	}
}

// WithLogger sets the logger for the engine and for pion's own logs (through
// SettingEngine.LoggerFactory), so nothing is printed to stdout or stderr.
// A nil logger discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		e.log = l
		return nil
	}
}

// WithRingTimeout sets how long the caller waits for an ANSWER before the
// call ends with EndNoAnswer (default 45 s, docs/protocol.md §3).
func WithRingTimeout(d time.Duration) Option {
	return positiveDuration("ring timeout", d, func(e *Engine) { e.ringTimeout = d })
}

// WithSetupTimeout sets how long ICE and DTLS may take to connect after the
// ANSWER (or, for the answerer, after the OFFER) before the call ends with
// EndConnectionLost (default 20 s). docs/protocol.md §6 lists the
// missing setup timeout among the reference apps' weaknesses.
func WithSetupTimeout(d time.Duration) Option {
	return positiveDuration("setup timeout", d, func(e *Engine) { e.setupTimeout = d })
}

// WithDisconnectTimeout sets how long without traffic from the peer makes ICE
// "disconnected" (default 4 s); the caller then starts an ICE restart. ICE
// "failed" follows after three times this.
func WithDisconnectTimeout(d time.Duration) Option {
	return positiveDuration("disconnect timeout", d, func(e *Engine) { e.disconnectTimeout = d })
}

// WithReconnectTimeout sets how long a call may stay in StateReconnecting
// before it ends with EndConnectionLost (default 10 s). With the default
// disconnect timeout a vanished peer is noticed in about 4 s and the call
// ends about 14 s after the link went: under 20 s as the fault tests require, and a
// 5 s outage still comes back with time to spare.
func WithReconnectTimeout(d time.Duration) Option {
	return positiveDuration("reconnect timeout", d, func(e *Engine) { e.reconnectTimeout = d })
}

// WithSignalTimeout bounds each Signaller.Send (default 10 s) and the BYE
// sent when a call ends.
func WithSignalTimeout(d time.Duration) Option {
	return positiveDuration("signal timeout", d, func(e *Engine) { e.signalTimeout = d })
}

// WithBitrate sets the congestion controller's floor, start and ceiling for
// the video, in bit/s (defaults 100 kbit/s, 600 kbit/s, 1.5 Mbit/s). GCC's own
// start of 10 kbit/s would show a smeared picture for seconds (docs/stack.md, "pion interceptors").
func WithBitrate(floor, start, ceiling int) Option {
	return func(e *Engine) error {
		if floor <= 0 || start < floor || ceiling < start {
			return fmt.Errorf("%w: bitrate floor %d, start %d, ceiling %d (want 0 < floor <= start <= ceiling)",
				ErrInvalidOption, floor, start, ceiling)
		}
		e.minBitrate, e.startBitrate, e.maxBitrate = floor, start, ceiling
		return nil
	}
}

// WithLoopback restricts ICE to the loopback interface, IPv4 UDP host
// candidates and no mDNS: two engines in one process (tests, benchmarks,
// a same-host demo) then connect quickly and deterministically. pion leaves
// loopback candidates out unless asked (docs/stack.md, "Real peers").
func WithLoopback(on bool) Option {
	return func(e *Engine) error {
		e.loopback = on
		return nil
	}
}

// WithVideo sets the synthetic picture's size and frame rate (default
// 640x480 at 30 fps) and the size and rate asked of a camera.
func WithVideo(width, height, fps int) Option {
	return func(e *Engine) error {
		if width < 16 || height < 16 || width%2 != 0 || height%2 != 0 || fps < 1 || fps > 60 {
			return fmt.Errorf("%w: video %dx%d at %d fps", ErrInvalidOption, width, height, fps)
		}
		e.width, e.height, e.fps = width, height, fps
		return nil
	}
}

// WithLowBandwidth starts every call in the lean mode for clinics that know
// their link is slow: a quarter-size picture at up to 10 fps, a
// start of at most 150 kbit/s and a ceiling of at most 300 kbit/s; the
// adaptation may raise the picture to half size, never to full. Give
// WithBitrate after it to choose other rates.
func WithLowBandwidth(on bool) Option {
	return func(e *Engine) error {
		e.lowBandwidth = on
		if on {
			e.maxBitrate = max(e.minBitrate, min(e.maxBitrate, 300_000))
			e.startBitrate = max(e.minBitrate, min(e.startBitrate, 150_000))
		}
		return nil
	}
}

// WithNet sets the network pion's ICE uses (default: the host's, through
// pion's stdnet). Tests use it to put an engine in a network namespace or
// on a virtual network; nil keeps the default.
func WithNet(n transport.Net) Option {
	return func(e *Engine) error {
		e.testNet = n
		return nil
	}
}

// WithPlayback turns playing the remote audio on the default output device
// on or off (default on). Off, or with no output device, the audio is still
// decoded for the level meter.
func WithPlayback(on bool) Option {
	return func(e *Engine) error {
		e.playback = on
		return nil
	}
}

// WithClock sets the clock used for stats timestamps and call duration
// (default time.Now). Timeouts use real timers.
func WithClock(now func() time.Time) Option {
	return func(e *Engine) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalidOption)
		}
		e.now = now
		return nil
	}
}

func positiveDuration(name string, d time.Duration, set func(*Engine)) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("%w: %s %v", ErrInvalidOption, name, d)
		}
		set(e)
		return nil
	}
}

// WithAudioProcessing chooses the processing run on a real microphone
// (default DefaultAudioProcessing: echo cancellation, noise suppression and
// gain control, as a browser does).
func WithAudioProcessing(p AudioProcessing) Option {
	return func(e *Engine) error {
		e.audioProc = p
		return nil
	}
}

// WithDevices chooses the camera, microphone and speaker by id or name
// (as Devices lists them); "" keeps the system's default. New fails with
// ErrNoDevice when one named is not there.
func WithDevices(camera, microphone, speaker string) Option {
	return func(e *Engine) error {
		e.cameraName, e.micName, e.speakerName = camera, microphone, speaker
		return nil
	}
}
