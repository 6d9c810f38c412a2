package call

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// clockRig drives a senderClock by hand: a clock that moves only when told,
// the RTP it passes on and the reports it writes.
type clockRig struct {
	t     *testing.T
	c     *senderClock
	cap   *captureClock
	mu    sync.Mutex
	at    time.Time
	sent  map[uint32][]rtp.Header
	video interceptor.RTPWriter
	audio interceptor.RTPWriter
}

const rigVideoSSRC, rigAudioSSRC = 1111, 2222

func newClockRig(t *testing.T, start time.Time) *clockRig {
	r := &clockRig{t: t, cap: &captureClock{}, at: start, sent: map[uint32][]rtp.Header{}}
	r.c = newSenderClock(r.cap, logging.NewDefaultLoggerFactory().NewLogger("test"), r.now, time.Hour)
	t.Cleanup(func() { _ = r.c.Close() })
	out := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		r.mu.Lock()
		r.sent[h.SSRC] = append(r.sent[h.SSRC], *h)
		r.mu.Unlock()
		return 0, nil
	})
	r.video = r.c.BindLocalStream(&interceptor.StreamInfo{SSRC: rigVideoSSRC, MimeType: "video/VP8", ClockRate: 90000}, out)
	r.audio = r.c.BindLocalStream(&interceptor.StreamInfo{SSRC: rigAudioSSRC, MimeType: "audio/opus", ClockRate: 48000}, out)
	return r
}

func (r *clockRig) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at
}

func (r *clockRig) set(t time.Time) {
	r.mu.Lock()
	r.at = t
	r.mu.Unlock()
}

// frame sends one video frame of n packets with timestamp ts, captured at
// captured and sent at sent.
func (r *clockRig) frame(ts uint32, n int, captured, sent time.Time) {
	r.cap.videoCaptured(captured)
	r.set(sent)
	for i := range n {
		h := &rtp.Header{SSRC: rigVideoSSRC, Timestamp: ts, SequenceNumber: uint16(i), Marker: i == n-1}
		if _, err := r.video.Write(h, make([]byte, 1000), nil); err != nil {
			r.t.Fatal(err)
		}
	}
}

// reports has the senderClock report at now, as its ticker would.
func (r *clockRig) reports(now time.Time) map[uint32]*rtcp.SenderReport {
	r.set(now)
	out := map[uint32]*rtcp.SenderReport{}
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	for ssrc, st := range r.c.streams {
		if sr, ok := st.report(now); ok {
			out[ssrc] = sr
		}
	}
	return out
}

// captureOf is the instant a sender report says RTP timestamp ts of its
// stream was captured at (RFC 3550 §6.4.1), as a receiver computes it.
func captureOf(sr *rtcp.SenderReport, ts uint32, rate float64) time.Time {
	secs := int64(sr.NTPTime>>32) - ntpEpochOffset
	frac := time.Duration((sr.NTPTime & 0xffffffff) * uint64(time.Second) >> 32)
	at := time.Unix(secs, 0).Add(frac)
	return at.Add(durationOf(float64(int32(ts-sr.RTPTime)) / rate))
}

// mediadevices stamps a frame with the time its encoder returned the frame
// before, so an encode that takes long moves the timestamps; on the wire
// each frame carries its capture instant, and a report maps it back.
func TestSenderClockStampsVideoFramesWithTheirCapture(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	r := newClockRig(t, t0)
	encode := []time.Duration{5, 30, 8, 2, 25, 12} // ms, each frame's encode
	var captured []time.Time
	ts := uint32(1<<32 - 5000) // wraps past 2^32 on the way
	var doneBefore time.Time
	for i, enc := range encode {
		c := t0.Add(time.Duration(i) * 33 * time.Millisecond)
		done := c.Add(enc * time.Millisecond)
		if i > 0 {
			ts += uint32(done.Sub(doneBefore).Seconds() * 90000) // as mediadevices' sampler counts
		}
		doneBefore = done
		r.frame(ts, 1+i%3, c, done)
		captured = append(captured, c)
	}
	sent := r.sent[rigVideoSSRC]
	srs := r.reports(t0.Add(time.Second))
	sr := srs[rigVideoSSRC]
	if sr == nil {
		t.Fatal("no sender report for the video stream")
	}
	k := 0
	for i := range encode {
		first := sent[k].Timestamp
		for j := 0; j < 1+i%3; j++ {
			if sent[k].Timestamp != first {
				t.Errorf("frame %d packet %d: timestamp %d, the frame's first had %d", i, j, sent[k].Timestamp, first)
			}
			k++
		}
		if got := captureOf(sr, first, 90000); absDuration(got.Sub(captured[i])) > 20*time.Microsecond {
			t.Errorf("frame %d: the report maps it to %v after its capture", i, got.Sub(captured[i]))
		}
	}
}

// The audio timestamps count samples and are left alone; the report maps
// them to the capture of each frame's first sample, whatever the delay
// each packet had after its frame's last sample, as long as some came
// without any.
func TestSenderClockReportsAudioCapture(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	r := newClockRig(t, t0)
	const frame = 20 * time.Millisecond
	delays := []time.Duration{3, 0, 7, 1, 0, 12, 4, 0, 9, 2} // ms after each frame's end
	ts := uint32(123456)
	for i, d := range delays {
		start := t0.Add(time.Duration(i) * frame)
		r.set(start.Add(frame + d*time.Millisecond))
		h := &rtp.Header{SSRC: rigAudioSSRC, Timestamp: ts + uint32(i)*960, SequenceNumber: uint16(i)}
		if _, err := r.audio.Write(h, make([]byte, 80), nil); err != nil {
			t.Fatal(err)
		}
		if got := r.sent[rigAudioSSRC][i].Timestamp; got != h.Timestamp {
			t.Fatalf("audio frame %d sent with timestamp %d, came with %d", i, got, h.Timestamp)
		}
	}
	sr := r.reports(t0.Add(time.Second))[rigAudioSSRC]
	if sr == nil {
		t.Fatal("no sender report for the audio stream")
	}
	for i := range delays {
		want := t0.Add(time.Duration(i) * frame)
		if got := captureOf(sr, ts+uint32(i)*960, 48000); absDuration(got.Sub(want)) > 25*time.Microsecond {
			t.Errorf("audio frame %d: the report maps it to %v after its capture", i, got.Sub(want))
		}
	}
	if sr.PacketCount != uint32(len(delays)) || sr.OctetCount != uint32(80*len(delays)) {
		t.Errorf("report counts %d packets, %d octets; sent %d, %d", sr.PacketCount, sr.OctetCount, len(delays), 80*len(delays))
	}
}

// A flash and a click captured at one instant come out of the two
// streams' reports at that one instant: what a receiver's lip sync needs.
func TestSenderClockOneInstantForBothStreams(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	r := newClockRig(t, t0)
	mark := t0.Add(2 * time.Second)
	vts := uint32(7777)
	for i := range 80 { // 30 fps to past the mark, 15 ms encodes
		c := t0.Add(time.Duration(i) * time.Second / 30)
		r.frame(vts+uint32(i)*1000, 2, c, c.Add(15*time.Millisecond))
	}
	ats := uint32(99)
	for i := range 120 {
		start := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		r.set(start.Add(20*time.Millisecond + time.Duration(i%3)*time.Millisecond))
		h := &rtp.Header{SSRC: rigAudioSSRC, Timestamp: ats + uint32(i)*960, SequenceNumber: uint16(i)}
		if _, err := r.audio.Write(h, make([]byte, 80), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The flash is video frame 60 (2 s at 30 fps), the click audio frame 100.
	flash := r.sent[rigVideoSSRC][2*60].Timestamp
	click := ats + 100*960
	srs := r.reports(t0.Add(3 * time.Second))
	v := captureOf(srs[rigVideoSSRC], flash, 90000)
	a := captureOf(srs[rigAudioSSRC], click, 48000)
	if d := a.Sub(v); absDuration(d) > 50*time.Microsecond {
		t.Errorf("the reports put the click %v after the flash (flash at %v of the mark, click at %v)", d, v.Sub(mark), a.Sub(mark))
	}
}

// Reports go out on the interval once bound, one stream per report.
func TestSenderClockSendsReports(t *testing.T) {
	c := newSenderClock(&captureClock{}, logging.NewDefaultLoggerFactory().NewLogger("test"), time.Now, 10*time.Millisecond)
	got := make(chan *rtcp.SenderReport, 8)
	c.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				select {
				case got <- sr:
				default:
				}
			}
		}
		return 0, nil
	}))
	w := c.BindLocalStream(&interceptor.StreamInfo{SSRC: 5, MimeType: "video/VP8", ClockRate: 90000},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	if _, err := w.Write(&rtp.Header{SSRC: 5, Timestamp: 1, Marker: true}, []byte{1}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case sr := <-got:
		if sr.SSRC != 5 {
			t.Errorf("report for SSRC %d, want 5", sr.SSRC)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no sender report")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// A synthetic picture read late keeps its tick's instant; a camera's, which
// gives none, is captured as it is read.
func TestCaptureClockPrefersTheSourcesInstant(t *testing.T) {
	var c captureClock
	tick := time.Unix(1796166760, 0)
	read := tick.Add(90 * time.Millisecond)
	c.sourceCaptured(tick)
	c.videoCaptured(read)
	if got, _ := c.lastVideo(); !got.Equal(tick) {
		t.Errorf("a synthetic frame read 90 ms late: captured at %v, want its tick's %v", got, tick)
	}
	c.videoCaptured(read.Add(time.Second))
	if got, _ := c.lastVideo(); !got.Equal(read.Add(time.Second)) {
		t.Errorf("a frame with no instant of its source's: captured at %v, want when it was read, %v", got, read.Add(time.Second))
	}
}

// The audio encoder's frames take the capture instant of their first
// sample from the chunks it read, whichever way they were cut.
func TestCaptureClockFollowsAudioThroughTheEncoder(t *testing.T) {
	var c captureClock
	t0 := time.Unix(1796166760, 0)
	// Two 10 ms chunks the source stamped, then one it did not, read 4 ms
	// after it was full.
	c.audioSourceCaptured(t0)
	c.audioTaken(480, 48000, t0.Add(10*time.Millisecond))
	c.audioSourceCaptured(t0.Add(10 * time.Millisecond))
	c.audioTaken(480, 48000, t0.Add(20*time.Millisecond))
	c.audioEncoded(960, 48000)
	if got, stamped, _ := c.lastAudio(); !got.Equal(t0) || !stamped {
		t.Errorf("first frame captured at %v (the source's instant: %v), want 0s (true)", got.Sub(t0), stamped)
	}
	c.audioTaken(480, 48000, t0.Add(34*time.Millisecond))
	c.audioEncoded(240, 48000) // a 5 ms frame: the first half of the chunk
	if got, stamped, _ := c.lastAudio(); !got.Equal(t0.Add(24*time.Millisecond)) || stamped {
		t.Errorf("second frame captured at %v (the source's instant: %v), want 24ms (false)", got.Sub(t0), stamped)
	}
	c.audioEncoded(240, 48000)
	if got, _, _ := c.lastAudio(); !got.Equal(t0.Add(29 * time.Millisecond)) {
		t.Errorf("third frame captured at %v, want 29ms", got.Sub(t0))
	}
}

// Sound the source dropped (its reader came too late) shows as a jump in
// the audio timestamps, and the reports still map every frame to its
// capture.
func TestSenderClockAudioTimestampsJumpOverLostSound(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	r := newClockRig(t, t0)
	const frame = 20 * time.Millisecond
	starts := []time.Duration{0, 20, 40, 60, 230, 250, 270} // ms: 150 ms lost after the fourth
	in := uint32(5000)
	for i, st := range starts {
		start := t0.Add(st * time.Millisecond)
		r.cap.audioStamped.Store(true)
		r.cap.audio.Store(start.UnixNano())
		r.set(start.Add(frame + 2*time.Millisecond))
		h := &rtp.Header{SSRC: rigAudioSSRC, Timestamp: in + uint32(i)*960, SequenceNumber: uint16(i)}
		if _, err := r.audio.Write(h, make([]byte, 80), nil); err != nil {
			t.Fatal(err)
		}
	}
	sent := r.sent[rigAudioSSRC]
	for i := 1; i < len(starts); i++ {
		want := uint32((starts[i] - starts[i-1]) * 48)
		if got := sent[i].Timestamp - sent[i-1].Timestamp; got != want {
			t.Errorf("frame %d: timestamp step %d, want %d", i, got, want)
		}
	}
	sr := r.reports(t0.Add(time.Second))[rigAudioSSRC]
	for i, st := range starts {
		want := t0.Add(st * time.Millisecond)
		if got := captureOf(sr, sent[i].Timestamp, 48000); absDuration(got.Sub(want)) > 25*time.Microsecond {
			t.Errorf("frame %d: the report maps it to %v after its capture", i, got.Sub(want))
		}
	}
}
