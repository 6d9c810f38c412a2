package call

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// captureClock is what a call's encoders tell its senderClock of when
// their input was captured. mediadevices stamps each video frame with the
// time its encoder returned the frame before (its sampler counts the time
// between two encoder outputs), so a frame's RTP timestamp ran one frame
// behind its capture and moved with every encode's length; and pion's
// sender reports map a stream's RTP time to the time its last frame was
// handed to the transport, not to when it was captured. A libwebrtc
// receiver aligns the two streams by those reports (RFC 3550 §6.4.1: the
// NTP and RTP timestamps of a report name one instant); at a Chromium
// patient the console's flashes were given capture times from 13 ms before
// to 28 ms after the real ones within one call, and its audio-video sync
// kept moving delay from one stream to the other (docs/benchmarks.md's lip-sync
// section has the figures).
type captureClock struct {
	video  atomic.Int64 // Unix ns of the capture of the picture the video encoder last returned
	source atomic.Int64 // Unix ns the video source gave the picture it last returned, 0 if none

	audio        atomic.Int64 // Unix ns of the capture of the first sample of the audio frame the encoder last returned
	audioStamped atomic.Bool  // and whether its source gave that instant
	audioSource  atomic.Int64 // Unix ns the audio source gave the first sample of the chunk it last returned, 0 if none
	audioMu      sync.Mutex
	chunks       [16]capturedChunk // the latest chunks the audio encoder took in, a ring
	chunkN       int
	samplesIn    int64 // samples the audio encoder has taken in
	samplesOut   int64 // and has returned encoded
}

// capturedChunk is one chunk of sound the audio encoder took in: the index
// of its first sample in the stream, how many, when the first was captured,
// and whether its source said so (rather than that instant being taken from
// when it was read).
type capturedChunk struct {
	first, n int64
	at       time.Time
	stamped  bool
}

// videoCaptured records the capture instant of the picture the video
// encoder is returning, which it read from its source at t: the instant the
// source gave it, if it gave one, else t (a camera's picture is captured as
// it is handed over; a synthetic one read late carries an earlier instant).
func (c *captureClock) videoCaptured(t time.Time) {
	if ns := c.source.Swap(0); ns != 0 {
		c.video.Store(ns)
		return
	}
	c.video.Store(t.UnixNano())
}

// sourceCaptured records the capture instant of the picture a source is
// returning.
func (c *captureClock) sourceCaptured(t time.Time) { c.source.Store(t.UnixNano()) }

func (c *captureClock) lastVideo() (time.Time, bool) {
	ns := c.video.Load()
	return time.Unix(0, ns), ns != 0
}

// audioSourceCaptured records the capture instant of the first sample of
// the chunk an audio source is returning.
func (c *captureClock) audioSourceCaptured(t time.Time) { c.audioSource.Store(t.UnixNano()) }

// audioTaken records a chunk of n samples at rate Hz the audio encoder read
// from its source at t: captured at the instant its source gave, or else
// from t less its length (a sound card hands a chunk over once it is full).
func (c *captureClock) audioTaken(n, rate int, t time.Time) {
	at := t.Add(-time.Duration(n) * time.Second / time.Duration(rate))
	ns := c.audioSource.Swap(0)
	if ns != 0 {
		at = time.Unix(0, ns)
	}
	c.audioMu.Lock()
	defer c.audioMu.Unlock()
	c.chunks[c.chunkN%len(c.chunks)] = capturedChunk{first: c.samplesIn, n: int64(n), at: at, stamped: ns != 0}
	c.chunkN++
	c.samplesIn += int64(n)
}

// audioEncoded records that the audio encoder returned a frame of n
// samples at rate Hz: the next n of those it took in, in order.
func (c *captureClock) audioEncoded(n, rate int) {
	c.audioMu.Lock()
	first := c.samplesOut
	c.samplesOut += int64(n)
	var at time.Time
	var stamped bool
	for i := range min(c.chunkN, len(c.chunks)) {
		if ch := c.chunks[i]; first >= ch.first && first < ch.first+ch.n {
			at = ch.at.Add(time.Duration(first-ch.first) * time.Second / time.Duration(rate))
			stamped = ch.stamped
			break
		}
	}
	c.audioMu.Unlock()
	if !at.IsZero() {
		c.audioStamped.Store(stamped)
		c.audio.Store(at.UnixNano())
	}
}

// lastAudio is the capture of the first sample of the frame the audio
// encoder last returned, whether its source gave that instant, and false
// before the first.
func (c *captureClock) lastAudio() (at time.Time, stamped, ok bool) {
	ns := c.audio.Load()
	return time.Unix(0, ns), c.audioStamped.Load(), ns != 0
}

// senderClock puts a call's RTP streams on their capture clock and sends
// their sender reports (RFC 3550 §6.4.1) from it, in place of pion's
// report sender:
//   - video: each frame's RTP timestamp is its capture instant (as its
//     encoder recorded it) at 90 kHz from the stream's first frame, given
//     to all the frame's packets up to the one with the marker bit;
//   - audio: the timestamps count samples, which is what a receiver plays
//     by, and jump where the source says it dropped sound (the encoder
//     records each frame's capture); the first frame's capture instant is the earliest
//     the frames of the last audioLagWindow put it at, so that a capture
//     instant taken from when a chunk was read loses the reader's delays;
//   - each report gives the RTP time that instant's capture would have had,
//     for both streams from one wall clock.
//
// It is the chain's outermost interceptor, so the NACK responder keeps and
// resends the packets as rewritten, and every other interceptor sees them.
type senderClock struct {
	interceptor.NoOp
	clock    *captureClock
	now      func() time.Time
	interval time.Duration
	log      logging.LeveledLogger

	mu      sync.Mutex
	streams map[uint32]*clockStream
	closed  chan struct{}
	started bool
	wg      sync.WaitGroup
}

// clockStream is what the senderClock knows of one local stream.
type clockStream struct {
	ssrc  uint32
	rate  float64 // RTP clock, Hz
	video bool

	started bool
	firstTS uint32    // the first frame's RTP timestamp (as sent)
	anchor  time.Time // its capture instant (audio: the estimate)
	inFrame bool      // video: the last packet did not end its frame
	outTS   uint32    // the current frame's timestamp, as sent
	inTS    uint32    // audio: and as it came
	frameS  float64   // audio: the last frame's duration, s (0 until two frames came)
	elapsed int64     // audio: RTP ticks from the first frame to the current one
	// audio: the capture of the current frame's first sample, and the
	// first frame's capture instant as each frame in the window implied it.
	lastCapture time.Time
	lags        [audioLagWindow]time.Time
	lagN        int

	packets, octets uint32
}

// audioLagWindow is how many audio frames the anchor is estimated from:
// 5 s of 20 ms frames, long enough to hold frames read without delay, short
// enough to follow a sound card's clock drifting from the machine's.
const audioLagWindow = 250

// senderReportInterval is pion's report sender's.
const senderReportInterval = time.Second

// senderClockFactory makes the senderClock of one peer connection.
type senderClockFactory struct {
	clock *captureClock
	log   logging.LeveledLogger
}

// NewInterceptor returns the call's senderClock.
func (f senderClockFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return newSenderClock(f.clock, f.log, time.Now, senderReportInterval), nil
}

func newSenderClock(clock *captureClock, log logging.LeveledLogger, now func() time.Time, interval time.Duration) *senderClock {
	return &senderClock{
		clock: clock, log: log, now: now, interval: interval,
		streams: make(map[uint32]*clockStream), closed: make(chan struct{}),
	}
}

// streamIs reports whether a local stream carries kind ("audio" or
// "video"), by its MIME type.
func streamIs(info *interceptor.StreamInfo, kind string) bool {
	return strings.HasPrefix(strings.ToLower(info.MimeType), kind+"/")
}

// BindLocalStream rewrites a video stream's timestamps and follows both
// kinds' for the reports.
func (c *senderClock) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	video := streamIs(info, "video")
	if info.ClockRate == 0 || !(video || streamIs(info, "audio")) {
		return writer
	}
	st := &clockStream{ssrc: info.SSRC, rate: float64(info.ClockRate), video: video}
	c.mu.Lock()
	c.streams[info.SSRC] = st
	c.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		c.stamp(st, h, len(payload))
		return writer.Write(h, payload, a)
	})
}

// UnbindLocalStream forgets the stream.
func (c *senderClock) UnbindLocalStream(info *interceptor.StreamInfo) {
	c.mu.Lock()
	delete(c.streams, info.SSRC)
	c.mu.Unlock()
}

// stamp handles one outgoing packet of st.
func (c *senderClock) stamp(st *clockStream, h *rtp.Header, octets int) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	st.packets++
	st.octets += uint32(octets)
	if st.video {
		c.stampVideo(st, h, now)
		return
	}
	c.stampAudio(st, h, now)
}

// stampVideo gives a frame's packets the frame's capture instant, on the
// first of them; the others follow it.
func (c *senderClock) stampVideo(st *clockStream, h *rtp.Header, now time.Time) {
	if st.inFrame {
		st.inFrame = !h.Marker
		h.Timestamp = st.outTS
		return
	}
	// The first packet of a frame (the marker bit ends each, RFC 7741 §4.1).
	st.inFrame = !h.Marker
	captured, ok := c.clock.lastVideo()
	if !ok || captured.After(now) {
		captured = now // no encoder record: it was captured no later than this
	}
	if !st.started {
		st.started = true
		st.firstTS, st.anchor, st.outTS = h.Timestamp, captured, h.Timestamp
		return
	}
	ts := st.firstTS + uint32(rtpTicks(captured.Sub(st.anchor), st.rate))
	if int32(ts-st.outTS) <= 0 {
		ts = st.outTS + 1 // never the last frame's, never back in time
	}
	st.outTS = ts
	h.Timestamp = ts
}

// stampAudio gives an audio frame's packets the timestamp its capture
// calls for: the last frame's plus the last frame's length while the sound
// is unbroken (the timestamps count samples, and a receiver plays by them),
// plus the time lost where its source dropped sound. It records, for the
// reports, the instant those timestamps put the stream's first frame at.
func (c *senderClock) stampAudio(st *clockStream, h *rtp.Header, now time.Time) {
	if st.started && h.Timestamp == st.inTS {
		h.Timestamp = st.outTS // another packet of the same frame
		return
	}
	captured, stamped, ok := c.clock.lastAudio()
	if !ok || captured.After(now) {
		// No encoder record: its first sample was captured at least a
		// frame before its packet left.
		captured, stamped = now.Add(-durationOf(st.frameS)), false
	}
	if !st.started {
		st.started = true
		st.inTS, st.outTS, st.firstTS, st.lastCapture = h.Timestamp, h.Timestamp, h.Timestamp, captured
		st.record(captured)
		return
	}
	step := int32(h.Timestamp - st.inTS)
	st.inTS = h.Timestamp
	ticks := int64(step)
	if step > 0 {
		st.frameS = float64(step) / st.rate
		// Sound the source dropped. Only a source's own instants tell:
		// one taken from when a chunk was read is late by the reader's
		// delay, which a sound card's buffer absorbs without a gap.
		if gap := captured.Sub(st.lastCapture).Seconds() - st.frameS; stamped && gap > st.frameS/2 {
			ticks += int64(math.Round(gap * st.rate))
		}
	}
	st.lastCapture = captured
	st.elapsed += ticks
	st.outTS += uint32(ticks)
	h.Timestamp = st.outTS
	st.record(captured)
}

// record notes the first frame's capture instant as the frame just stamped
// implies it.
func (st *clockStream) record(captured time.Time) {
	st.lags[st.lagN%audioLagWindow] = captured.Add(-durationOf(float64(st.elapsed) / st.rate))
	st.lagN++
}

// audioAnchor is the earliest estimate in the window.
func (st *clockStream) audioAnchor() time.Time {
	var a time.Time
	for i := range min(st.lagN, audioLagWindow) {
		if l := st.lags[i]; a.IsZero() || l.Before(a) {
			a = l
		}
	}
	return a
}

// report is st's sender report at now, false while nothing maps its RTP
// time to a capture instant yet.
func (st *clockStream) report(now time.Time) (*rtcp.SenderReport, bool) {
	if !st.started {
		return nil, false
	}
	anchor := st.anchor
	if !st.video {
		anchor = st.audioAnchor()
		st.anchor = anchor
	}
	if anchor.IsZero() {
		return nil, false
	}
	return &rtcp.SenderReport{
		SSRC:        st.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     st.firstTS + uint32(rtpTicks(now.Sub(anchor), st.rate)),
		PacketCount: st.packets,
		OctetCount:  st.octets,
	}, true
}

// BindRTCPWriter starts the reports on the peer connection's writer.
func (c *senderClock) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return writer
	default:
	}
	if !c.started {
		c.started = true
		c.wg.Add(1)
		go c.loop(writer)
	}
	return writer
}

func (c *senderClock) loop(writer interceptor.RTCPWriter) {
	defer c.wg.Done()
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-t.C:
		}
		now := c.now()
		var pkts []rtcp.Packet
		c.mu.Lock()
		for _, st := range c.streams {
			if sr, ok := st.report(now); ok {
				pkts = append(pkts, sr)
			}
		}
		c.mu.Unlock()
		for _, p := range pkts { // one report per packet, as pion's sender does
			if _, err := writer.Write([]rtcp.Packet{p}, interceptor.Attributes{}); err != nil {
				c.log.Warnf("sender report: %v", err)
			}
		}
	}
}

// Close stops the reports.
func (c *senderClock) Close() error {
	c.mu.Lock()
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// rtpTicks is d at rate Hz, rounded to the nearest tick.
func rtpTicks(d time.Duration, rate float64) int64 {
	return int64(math.Round(d.Seconds() * rate))
}

func durationOf(seconds float64) time.Duration {
	return time.Duration(math.Round(seconds * float64(time.Second)))
}

// ntpEpochOffset is the seconds from the NTP epoch (1900) to the Unix one.
const ntpEpochOffset = 2208988800

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900
// in the high 32 bits, the fraction in the low.
func ntpTime(t time.Time) uint64 {
	ns := t.UnixNano()
	secs := uint64(ns/int64(time.Second)) + ntpEpochOffset
	frac := uint64(ns%int64(time.Second)) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
