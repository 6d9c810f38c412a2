package call

import "time"

// Stats is one sample of a call's network and media figures, taken about
// once a second while the call is up. Zero means "not known yet".
type Stats struct {
	// At is when the sample was taken.
	At time.Time
	// Duration is the time since the call reached StateConnected.
	Duration time.Duration

	// RTT is the round-trip time of the selected ICE candidate pair (or RTCP).
	RTT time.Duration
	// Jitter is the inbound video (or audio) interarrival jitter.
	Jitter time.Duration
	// LossPercent is the inbound packet loss over the last interval, 0 to 100.
	LossPercent float64
	// BitrateIn and BitrateOut are the received and sent bit rates, in bit/s.
	BitrateIn, BitrateOut int
	// TargetBitrate is the congestion controller's current video target, in bit/s.
	TargetBitrate int

	// FPSIn is frames decoded per second; FPSOut frames encoded per second.
	FPSIn, FPSOut float64
	// WidthIn and HeightIn are the size of the patient's decoded video.
	WidthIn, HeightIn int
	// WidthOut and HeightOut are the size of the video the console sends.
	WidthOut, HeightOut int

	// VideoCodec and AudioCodec name the negotiated codecs, e.g. "VP8", "opus".
	VideoCodec, AudioCodec string
	// PathType is the selected candidate pair's kind: host, srflx, prflx or relay.
	PathType string
	// Path is the selected candidate pair itself: both candidates' kinds
	// and addresses.
	Path Path

	// AudioLevel is the patient's audio level over the interval, 0 to 1, for a
	// level meter (a machine with no sound card still shows it).
	AudioLevel float64
	// AudioOnly is true while video is paused (by the doctor or by adaptation).
	AudioOnly bool
	// Note says in words what adaptation is doing and why, or what became
	// of a device, or is empty.
	Note string
	// Remark says in words what the doctor may like to know but need not
	// act on ("no speaker: sound shown on the meter"), or is empty.
	Remark string
}
