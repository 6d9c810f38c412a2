package call

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)} }
func testLog() logging.LeveledLogger {
	return logging.NewDefaultLoggerFactory().NewLogger("rtx-test")
}
func packetOf(ssrc uint32, seq uint16) *rtp.Header {
	return &rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: seq}
}

// sink records the sequence numbers a stream's writer is given.
type sink struct {
	mu   sync.Mutex
	seqs []uint16
}

func newSink() *sink { return &sink{} }

func (s *sink) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seqs = append(s.seqs, h.SequenceNumber)
	return len(payload), nil
}

// limitedStream returns a limiter with a fixed target of bitrate bit/s, its
// clock, and a writer of video stream 1 through it into out.
func limitedStream(t *testing.T, bitrate int, out *sink) (*rtxLimiter, *fakeClock, interceptor.RTPWriter) {
	t.Helper()
	clock := newFakeClock()
	l := newRTXLimiter(func() int { return bitrate }, testLog(), clock.now)
	w := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, MimeType: "video/VP8"}, out)
	return l, clock, w
}

// TestRTXLimiterLimitsRetransmissions: resent packets (a sequence number at
// or before the newest) may use the target rate and no more, the same
// packet is not resent twice within rtxRepeat, and a stream that sends
// nothing new (video paused) gets no retransmissions at all.
func TestRTXLimiterLimitsRetransmissions(t *testing.T) {
	out := newSink()
	// 400 kbit/s target: retransmissions may use 50,000 bytes a second, in
	// bursts of 10,000 (200 ms of it).
	l, clock, w := limitedStream(t, 400_000, out)
	payload := make([]byte, 988) // 1,000 bytes with the header
	write := func(seqs ...uint16) {
		t.Helper()
		for _, seq := range seqs {
			if _, err := w.Write(packetOf(1, seq), payload, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	seqs := func(from, to uint16) (s []uint16) {
		for seq := from; seq < to; seq++ {
			s = append(s, seq)
		}
		return s
	}
	passed := func() int {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.seqs)
	}
	want := func(what string, got, n int) {
		t.Helper()
		if got != n {
			t.Fatalf("%s: %d, want %d", what, got, n)
		}
	}

	write(seqs(0, 100)...) // the video so far
	want("new packets passed", passed(), 100)

	// A NACK for 50 of them at once: a burst of 10,000 bytes goes, the rest
	// are over budget.
	write(seqs(0, 50)...)
	want("retransmissions passed from a NACK for 50", passed()-100, 10)
	want("dropped over budget", l.dropped.budget, 40)

	// The receiver asks again 100 ms later (as pion's does, until the
	// packets come): 0..9, resent 100 ms ago, are not resent again; of the
	// others, the 5,000 bytes earned since let five go.
	clock.add(100 * time.Millisecond)
	write(100) // new video: the stream is live
	write(seqs(0, 20)...)
	want("repeats dropped", l.dropped.repeat, 10)
	want("retransmissions passed in all", passed()-101, 10+5)
	want("dropped over budget in all", l.dropped.budget, 40+5)

	// Video paused: nothing new for longer than rtxStale. Retransmissions
	// go nowhere, whatever the budget; new packets still go.
	clock.add(rtxStale + time.Second)
	write(60)
	want("dropped for a paused stream", l.dropped.stale, 1)
	write(101)
	want("passed after the pause", passed()-101-15, 1)
	out.mu.Lock()
	defer out.mu.Unlock()
	if n := len(out.seqs); out.seqs[100] != 0 || out.seqs[110] != 100 || out.seqs[n-1] != 101 {
		t.Fatalf("passed in the wrong order: %v", out.seqs)
	}
}

// TestRTXLimiterSequenceWraps: a stream's numbers wrap from 65535 to 0, and
// the packets after the wrap are new, not retransmissions.
func TestRTXLimiterSequenceWraps(t *testing.T) {
	out := newSink()
	l, _, w := limitedStream(t, 1_000_000, out)
	l.tokens = 0 // any retransmission would be dropped
	for _, seq := range []uint16{65533, 65534, 65535, 0, 1, 2} {
		if _, err := w.Write(packetOf(1, seq), []byte{1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.seqs) != 6 {
		t.Fatalf("passed %v, want all six across the wrap", out.seqs)
	}
}

// TestRTXLimiterLeavesAudioAlone: only video is limited.
func TestRTXLimiterLeavesAudioAlone(t *testing.T) {
	l := newRTXLimiter(func() int { return 8000 }, testLog(), newFakeClock().now)
	out := newSink()
	w := l.BindLocalStream(&interceptor.StreamInfo{SSRC: 2, MimeType: "audio/opus"}, out)
	if w != interceptor.RTPWriter(out) {
		t.Fatal("an audio stream's writer was wrapped")
	}
}
