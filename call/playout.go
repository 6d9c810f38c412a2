package call

import (
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// playoutSync is the console's own audio-video sync as a receiver. The
// console shows a picture as soon as it is decoded and played the sound as
// soon as it was decoded too; but a picture takes longer to get here (a
// frame is paced out in many packets, then decoded) than 20 ms of sound, so
// from a Chromium patient the doctor heard each sync mark about 90 ms
// before seeing it. The peer's sender reports (RFC 3550 §6.4.1) map each
// stream's RTP timestamps to the peer's capture clock, the same clock for
// both, so the time from capture to presentation can be set side by side
// for the two (whatever the offset between the peer's clock and ours, it is
// the same in both); the sound is then held back by how much sooner it
// would be heard, up to maxAudioHold. Like a libwebrtc receiver, it only
// delays the sound: the picture is never held for the sound.
type playoutSync struct {
	mu      sync.Mutex
	reports map[uint32]rtpClock // the peer's latest report of each stream
	video   delayFilter         // capture to display, the picture
	audio   delayFilter         // capture to hand-over, the sound
	hold    time.Duration       // the sound's hold now
	// changed, when set, is told of each new hold with the two delays it
	// came from; set before the call's media flow.
	changed func(hold, video, audio time.Duration)
}

// rtpClock is one stream's mapping from RTP time to the sender's clock.
type rtpClock struct {
	at time.Time // the report's NTP time
	ts uint32    // its RTP time
}

// maxAudioHold bounds the hold: beyond it the doctor would wait too long to
// hear the patient (ITU-T G.114 puts one-way delay at 150 ms before talk
// suffers), and a picture that late is a fault of its own.
const maxAudioHold = 150 * time.Millisecond

// holdStep is how far the wanted hold must move before the sound's is
// changed: each change is a jump in the sound (silence put in, or sound
// dropped), so it changes seldom; 20 ms is less than the 45 ms of sound
// ahead of the picture that is noticed (ITU-R BT.1359).
const holdStep = 20 * time.Millisecond

func newPlayoutSync() *playoutSync {
	return &playoutSync{reports: make(map[uint32]rtpClock)}
}

// newLoggedPlayoutSync is a call's: one Info line for each new hold.
func newLoggedPlayoutSync(log *slog.Logger) *playoutSync {
	p := newPlayoutSync()
	p.changed = func(hold, video, audio time.Duration) {
		log.Info("audio hold", "hold_ms", hold.Milliseconds(), "video_delay_ms", video.Milliseconds(), "audio_delay_ms", audio.Milliseconds())
	}
	return p
}

// senderReport takes in one of the peer's sender reports.
func (p *playoutSync) senderReport(sr *rtcp.SenderReport) {
	p.mu.Lock()
	p.reports[sr.SSRC] = rtpClock{at: fromNTP(sr.NTPTime), ts: sr.RTPTime}
	p.mu.Unlock()
}

// captured is the sender's capture instant of RTP timestamp ts of stream
// ssrc, false before its first report. p.mu is held.
func (p *playoutSync) captured(ssrc, ts uint32, rate float64) (time.Time, bool) {
	c, ok := p.reports[ssrc]
	if !ok || rate <= 0 {
		return time.Time{}, false
	}
	return c.at.Add(durationOf(float64(int32(ts-c.ts)) / rate)), true
}

// videoShown records a picture of stream ssrc with RTP timestamp ts made
// available for display at at.
func (p *playoutSync) videoShown(ssrc, ts uint32, rate float64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.captured(ssrc, ts, rate); ok {
		p.video.add(at.Sub(c))
	}
}

// audioHold records sound of stream ssrc with RTP timestamp ts decoded at
// at, and returns how long to hold it before it is played.
func (p *playoutSync) audioHold(ssrc, ts uint32, rate float64, at time.Time) time.Duration {
	p.mu.Lock()
	if c, ok := p.captured(ssrc, ts, rate); ok {
		p.audio.add(at.Sub(c))
	}
	want := time.Duration(0)
	if p.video.ok() && p.audio.ok() {
		want = min(max(p.video.value()-p.audio.value(), 0), maxAudioHold)
	}
	changed := absDuration(want-p.hold) >= holdStep || (want == 0 && p.hold != 0)
	if changed {
		p.hold = want
	}
	hold, video, audio := p.hold, p.video.value(), p.audio.value()
	p.mu.Unlock()
	if changed && p.changed != nil {
		p.changed(hold, video, audio)
	}
	return hold
}

// delayFilter smooths one stream's delay: an exponential mean over about
// the last second of frames, which follows a change in the path within a
// couple of seconds and does not move with each frame's jitter.
type delayFilter struct {
	mean float64 // s
	n    int
}

const delayFilterGain = 1.0 / 32

func (f *delayFilter) add(d time.Duration) {
	if f.n == 0 {
		f.mean = d.Seconds()
	} else {
		f.mean += delayFilterGain * (d.Seconds() - f.mean)
	}
	f.n++
}

// ok reports whether enough frames came for the mean to mean something.
func (f *delayFilter) ok() bool { return f.n >= 8 }

func (f *delayFilter) value() time.Duration { return durationOf(f.mean) }

// fromNTP is a 64-bit NTP timestamp (RFC 3550 §4) as a time.
func fromNTP(ntp uint64) time.Time {
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := (ntp & 0xffffffff) * uint64(time.Second) >> 32
	return time.Unix(secs, int64(frac))
}
