package call

import (
	"fmt"
	"time"
)

// videoLevel is how much video a call sends: the adaptation's ladder, from
// the configured picture down to none (lower bit rate first, then
// lower resolution and frame rate, then audio only).
type videoLevel int

// The rungs of the ladder. The zero value is levelUnknown.
const (
	levelUnknown videoLevel = iota
	// levelAudioOnly sends no video: the link cannot carry it beside audio.
	levelAudioOnly
	// levelLean sends a quarter-size picture at up to 10 fps.
	levelLean
	// levelReduced sends a half-size picture at up to 15 fps.
	levelReduced
	// levelFull sends the configured picture.
	levelFull
)

func (l videoLevel) String() string {
	switch l {
	case levelAudioOnly:
		return "audio only"
	case levelLean:
		return "lean"
	case levelReduced:
		return "reduced"
	case levelFull:
		return "full"
	case levelUnknown:
		return "unknown"
	default:
		return "unknown"
	}
}

// Adaptation thresholds. The congestion controller's target decides the
// rung; loss and RTT (a link so slow that packets queue and drop whatever
// GCC says) force the way down; going up needs a clear margin for longer
// than going down took (hysteresis), so the picture does not flap.
const (
	reducedBelow = 400_000 // target under which full video steps down
	leanBelow    = 200_000 // target under which reduced video steps down
	upMargin     = 1.5     // going up needs the threshold times this
	heavyLoss    = 0.20    // outbound loss that means the link is overrun (a 2% lossy link bursts past 10%)
	heavyRTT     = time.Second
	downAfter    = 2 // samples (about seconds) of evidence to step down
	silentAfter  = 3 // samples of evidence to give video up altogether
	upAfter      = 8 // samples of evidence to step up
	// firstProbe is how long audio-only waits on a quiet link before trying
	// lean video again; a failed try doubles it, up to maxProbe.
	firstProbe = 10 * time.Second
	maxProbe   = 60 * time.Second
	// probeGrace is how long a try at video is given before it is judged.
	probeGrace = 6
	// Bit-rate ceilings of the lower rungs, and Opus's rate without video.
	reducedCeiling  = 500_000
	leanCeiling     = 200_000
	audioOnlyOpus   = 20_000
	withVideoOpus   = 32_000
	lowBandwidthTop = levelReduced
)

// linkSample is what the adapter sees each second.
type linkSample struct {
	target int           // GCC's estimate, bit/s, before our floor and ceiling
	loss   float64       // GCC's average outbound loss, 0 to 1
	rtt    time.Duration // round-trip time, 0 if unknown
}

// adapter decides the video rung from link samples. It is owned by the
// session's loop goroutine.
type adapter struct {
	level     videoLevel
	top       videoLevel // the highest rung allowed (lower in low-bandwidth mode)
	down, up  int        // consecutive samples calling for a step
	quiet     time.Duration
	probeWait time.Duration
	probing   int // samples since a try at video began; 0 when not trying
	note      string
}

func newAdapter(lowBandwidth bool) *adapter {
	a := &adapter{level: levelFull, top: levelFull, probeWait: firstProbe}
	if lowBandwidth {
		a.level, a.top = levelLean, lowBandwidthTop
		a.note = "low-bandwidth mode: video starts small"
	}
	return a
}

// wanted is the rung the target alone asks for.
func wanted(target int, margin float64) videoLevel {
	switch {
	case float64(target) >= reducedBelow*margin:
		return levelFull
	case float64(target) >= leanBelow*margin:
		return levelReduced
	default:
		return levelLean
	}
}

// step takes one sample, taken interval after the last, and reports whether
// the rung changed; a.note then says why.
func (a *adapter) step(s linkSample, interval time.Duration) bool {
	congested := s.loss > heavyLoss || s.rtt > heavyRTT
	why := fmt.Sprintf("link ~%d kbit/s, loss %.0f%%, RTT %d ms", s.target/1000, s.loss*100, s.rtt.Milliseconds())
	if a.level == levelAudioOnly {
		if congested {
			a.quiet = 0
			return false
		}
		a.quiet += interval
		if a.quiet < a.probeWait {
			return false
		}
		a.quiet, a.probing = 0, 1
		return a.set(levelLean, "link better ("+why+"): trying video again, small")
	}
	if a.probing > 0 {
		a.probing++
		if congested {
			a.probing = 0
			a.probeWait = min(2*a.probeWait, maxProbe)
			return a.set(levelAudioOnly, fmt.Sprintf("video did not fit (%s): audio only; next try in %v", why, a.probeWait))
		}
		if a.probing <= probeGrace {
			return false
		}
		a.probing = 0
		a.probeWait = firstProbe
	}

	downTo := min(a.level, wanted(s.target, 1))
	if congested {
		downTo = a.level - 1
	}
	switch {
	case downTo < a.level:
		a.up = 0
		next := a.level - 1
		need := downAfter
		if next == levelAudioOnly {
			need = silentAfter
		}
		if a.down++; a.down < need {
			return false
		}
		a.down = 0
		if next == levelAudioOnly {
			return a.set(next, fmt.Sprintf("link too slow for video (%s): audio only; video retried in %v", why, a.probeWait))
		}
		return a.set(next, "lowered video: "+why)
	case a.level < a.top && wanted(s.target, upMargin) > a.level && !congested && s.loss < 0.02:
		a.down = 0
		if a.up++; a.up < upAfter {
			return false
		}
		a.up = 0
		return a.set(a.level+1, "raised video: "+why)
	default:
		a.down, a.up = 0, 0
		return false
	}
}

func (a *adapter) set(l videoLevel, note string) bool {
	a.level = l
	a.note = note
	if l == levelFull {
		a.note = ""
	}
	return true
}

// ceiling is the encoder's bit-rate cap on the current rung.
func (a *adapter) ceiling(max int) int {
	switch a.level {
	case levelReduced:
		return min(max, reducedCeiling)
	case levelLean, levelAudioOnly:
		return min(max, leanCeiling)
	default:
		return max
	}
}

// shape is the picture a rung sends: the divisor of the configured size
// and the frame-rate cap (0: none).
func (l videoLevel) shape(fps int) (div, maxFPS int) {
	switch l {
	case levelReduced:
		return 2, min(fps, 15)
	case levelLean, levelAudioOnly:
		return 4, min(fps, 10)
	default:
		return 1, fps
	}
}

// adaptTo feeds one second's link figures to the adapter and
// applies a change of rung: picture size and rate, encoder ceilings, and a
// key frame so the peer's picture restarts cleanly.
func (s *Session) adaptTo(st *Stats) {
	if s.bwe == nil {
		return
	}
	ls := linkSample{target: s.bwe.GetTargetBitrate(), rtt: st.RTT}
	if v, ok := s.bwe.GetStats()["averageLoss"].(float64); ok {
		ls.loss = v
	}
	if s.adapt.level == levelAudioOnly {
		// Without video GCC hears nothing new (its feedback rides on the
		// video packets) and its figures freeze; the audio's RTCP receiver
		// reports say what the link does now.
		ls.loss = s.audioLoss()
	}
	from := s.adapt.level
	if !s.adapt.step(ls, time.Second) {
		return
	}
	to := s.adapt.level
	s.media.level.Store(int32(to))
	s.media.setBitrate(min(s.target, s.adapt.ceiling(s.e.maxBitrate)))
	opusRate := withVideoOpus
	if to == levelAudioOnly {
		opusRate = audioOnlyOpus
	}
	s.media.setAudioBitrate(opusRate)
	s.media.forceKeyFrame()
	s.log.Info("video adapted", "from", from.String(), "to", to.String(), "why", s.adapt.note,
		"target", ls.target, "loss", ls.loss, "rtt", ls.rtt)
}

// audioLoss is the fraction of our audio the peer's last receiver report
// says was lost, 0 to 1.
func (s *Session) audioLoss() float64 {
	if s.statsGetter == nil {
		return 0
	}
	var loss float64
	for _, enc := range s.audioSender.GetParameters().Encodings {
		if st := s.statsGetter.Get(uint32(enc.SSRC)); st != nil {
			loss = max(loss, st.RemoteInboundRTPStreamStats.FractionLost)
		}
	}
	return loss
}
