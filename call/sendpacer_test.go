package call

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

const (
	testAudioSSRC = 1111
	testVideoSSRC = 2222
	testTWCCID    = 5
)

// departure is one packet as it left the pacer.
type departure struct {
	ssrc uint32
	seq  uint16 // RTP sequence number
	twcc int    // transport-wide sequence number, -1 if none
	size int
	at   time.Time
}

// pacerRig is a pacer with an audio and a video stream tagged as the
// engine tags them, and a record of what left it.
type pacerRig struct {
	p            *sendPacer
	audio, video interceptor.RTPWriter
	twcc         uint16 // the next number, as twcc's header interceptor gives them

	mu   sync.Mutex
	left []departure
	sent chan struct{}
}

func newPacerRig(t *testing.T, bps int) *pacerRig {
	t.Helper()
	r := &pacerRig{sent: make(chan struct{}, 1024)}
	r.p = newSendPacer(bps, logging.NewDefaultLoggerFactory().NewLogger("pacer"))
	t.Cleanup(func() { _ = r.p.Close() })
	exts := []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: testTWCCID}}
	for _, s := range []uint32{testAudioSSRC, testVideoSSRC} {
		r.p.AddStream(s, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			d := departure{ssrc: h.SSRC, seq: h.SequenceNumber, twcc: -1, size: len(payload), at: time.Now()}
			if ext := h.GetExtension(testTWCCID); len(ext) == 2 {
				d.twcc = int(binary.BigEndian.Uint16(ext))
			}
			r.mu.Lock()
			r.left = append(r.left, d)
			r.mu.Unlock()
			r.sent <- struct{}{}
			return len(payload), nil
		}))
	}
	tag := pacingTagger{}
	r.audio = tag.BindLocalStream(&interceptor.StreamInfo{SSRC: testAudioSSRC, MimeType: "audio/opus", RTPHeaderExtensions: exts}, r.p)
	r.video = tag.BindLocalStream(&interceptor.StreamInfo{SSRC: testVideoSSRC, MimeType: "video/VP8", RTPHeaderExtensions: exts}, r.p)
	return r
}

// write sends one packet of size bytes on w, numbered as twcc's header
// interceptor numbers them (before the pacer).
func (r *pacerRig) write(t *testing.T, w interceptor.RTPWriter, ssrc uint32, seq uint16, size int) {
	t.Helper()
	h := &rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: seq}
	var ext [2]byte
	binary.BigEndian.PutUint16(ext[:], r.twcc)
	r.twcc++
	if err := h.SetExtension(testTWCCID, ext[:]); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, size)
	if _, err := w.Write(h, payload, nil); err != nil {
		t.Fatal(err)
	}
	// The caller may reuse its buffer once Write returns.
	for i := range payload {
		payload[i] = 0xff
	}
}

// waitFor waits until n packets have left, or fails after a minute.
func (r *pacerRig) waitFor(t *testing.T, n int) []departure {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		left := append([]departure(nil), r.left...)
		r.mu.Unlock()
		if len(left) >= n {
			return left
		}
		select {
		case <-r.sent:
		case <-deadline:
			t.Fatalf("%d packets left the pacer, want %d", len(left), n)
		}
	}
}

func TestPacerSendsVoiceAheadOfQueuedVideo(t *testing.T) {
	// 80 kbit/s: 20 video packets of 1,000 bytes take about 1.3 s.
	r := newPacerRig(t, 80_000)
	for i := range 20 {
		r.write(t, r.video, testVideoSSRC, uint16(i), 1000)
	}
	r.write(t, r.audio, testAudioSSRC, 0, 100)
	left := r.waitFor(t, 21)
	at := -1
	for i, d := range left {
		if d.ssrc == testAudioSSRC {
			at = i
		}
	}
	if at < 0 || at >= 20 {
		t.Fatalf("audio left %dth of 21, after the video queued before it", at+1)
	}
	for i, d := range left {
		if d.size == 0 {
			t.Fatalf("packet %d left empty", i)
		}
	}
}

func TestPacerNumbersPacketsInTheOrderTheyLeave(t *testing.T) {
	r := newPacerRig(t, 80_000)
	for i := range 10 {
		r.write(t, r.video, testVideoSSRC, uint16(i), 1000)
	}
	r.write(t, r.audio, testAudioSSRC, 0, 100)
	r.write(t, r.video, testVideoSSRC, 10, 1000)
	r.write(t, r.audio, testAudioSSRC, 1, 100)
	left := r.waitFor(t, 13)
	first := left[0].twcc
	for i, d := range left {
		if d.twcc != first+i {
			t.Fatalf("packet %d left with transport number %d, want %d (in departure order): %+v", i, d.twcc, first+i, left)
		}
	}
	var video []uint16
	for _, d := range left {
		if d.ssrc == testVideoSSRC {
			video = append(video, d.seq)
		}
	}
	for i, s := range video {
		if int(s) != i {
			t.Fatalf("video left out of order: %v", video)
		}
	}
}

func TestPacerKeepsToItsRate(t *testing.T) {
	const bps = 400_000
	r := newPacerRig(t, bps)
	start := time.Now()
	const n, size = 40, 1200
	for i := range n {
		r.write(t, r.video, testVideoSSRC, uint16(i), size)
	}
	left := r.waitFor(t, n)
	// Whatever the scheduler did, no more may have left by each departure
	// than the rate allows since the first write, plus the burst it keeps
	// and the packet that took it into debt.
	rate := pacingFactor * bps / 8
	sent := 0
	for i, d := range left {
		sent += d.size + 12 + 8 // RTP header with the one-byte extension
		allowed := rate*d.at.Sub(start).Seconds() + rate*pacingBurst.Seconds() + 2*(size+20)
		if float64(sent) > allowed {
			t.Fatalf("by packet %d, %d bytes had left %v after the first write; the rate allows %.0f", i, sent, d.at.Sub(start), allowed)
		}
	}
}

func TestPacerDrainsALongQueueFaster(t *testing.T) {
	r := newPacerRig(t, 8_000) // 1.5 KB/s
	for i := range 30 {
		r.write(t, r.video, testVideoSSRC, uint16(i), 1000)
	}
	// The first packet or two may have left at once.
	if got, want := r.p.sendRate(), 28_000/pacingQueueLimit.Seconds(); got < want {
		t.Fatalf("with 28 to 30 KB queued the pacer sends %.0f B/s, want at least %.0f (the queue drained within %v)", got, want, pacingQueueLimit)
	}
	r.p.SetTargetBitrate(8_000_000)
	r.waitFor(t, 30)
	if got, want := r.p.sendRate(), pacingFactor*8_000_000/8; got != want {
		t.Fatalf("empty, the pacer sends %.0f B/s, want %.0f (the target's)", got, want)
	}
}

func TestPacerClosed(t *testing.T) {
	r := newPacerRig(t, 80_000)
	for i := range 5 {
		r.write(t, r.video, testVideoSSRC, uint16(i), 1000)
	}
	if err := r.p.Close(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	before := len(r.left)
	r.mu.Unlock()
	r.write(t, r.audio, testAudioSSRC, 0, 100)
	if err := r.p.Close(); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	after := len(r.left)
	r.mu.Unlock()
	if after != before {
		t.Fatalf("%d packets left a closed pacer", after-before)
	}
}
