package call

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
)

// rtxLimiter sits between pion's NACK responder and the rest of the chain,
// and drops the retransmissions a real-time call cannot use. pion's
// responder resends every packet every time it is asked, and pion's NACK
// generator asks every 100 ms until the packet comes: when a link fell from
// 800 to 64 kbit/s (a fault test) each side handed 1 to 2 Mbit/s of
// retransmissions to the pacer (pion's then), whose single queue, first in first out,
// then held the voice behind them for seconds, so that in about one run in
// five the patient heard nothing for 4 or 5 of the 7 seconds after the
// console had gone audio only. As libwebrtc's sender does, for each video
// stream:
//   - retransmissions may use up to the congestion controller's target
//     rate (libwebrtc's limit), in bursts of rtxBurst of it; the rest are
//     dropped;
//   - a packet resent within rtxRepeat is not resent again: the copy is
//     still on its way;
//   - a stream that has sent nothing new for rtxStale is paused (audio
//     only, camera off): its retransmissions are dropped, as the receiver
//     will need a key frame when it resumes anyway.
//
// A retransmission is a packet whose sequence number is at or before the
// newest the stream has sent (the call negotiates no RTX stream). Being
// ahead of the transport-wide sequence numbers and the pacer, a dropped
// packet is neither counted as sent nor reported lost by the peer's
// feedback. (The pacer now sends voice ahead of video, sendpacer.go, but
// counts it against the same rate, so retransmissions beyond the link
// still delay video and starve the controller.)
type rtxLimiter struct {
	interceptor.NoOp
	target func() int // bit/s
	now    func() time.Time
	log    logging.LeveledLogger

	mu      sync.Mutex
	tokens  float64 // bytes of retransmission that may go now
	last    time.Time
	streams map[uint32]*rtxStream
	dropped struct{ budget, repeat, stale int }
}

// rtxStream is what the limiter knows of one video stream.
type rtxStream struct {
	started bool
	highest uint16    // the newest sequence number sent
	lastNew time.Time // when a packet with a new sequence number went
	resent  map[uint16]time.Time
}

const (
	rtxBurst  = 200 * time.Millisecond // of the retransmission rate
	rtxRepeat = 250 * time.Millisecond
	rtxStale  = 500 * time.Millisecond
)

// rtxLimiterFactory makes the limiter of one peer connection.
type rtxLimiterFactory struct {
	target func() int
	log    logging.LeveledLogger
}

// NewInterceptor returns a limiter with a full bucket.
func (f rtxLimiterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return newRTXLimiter(f.target, f.log, time.Now), nil
}

func newRTXLimiter(target func() int, log logging.LeveledLogger, now func() time.Time) *rtxLimiter {
	l := &rtxLimiter{target: target, now: now, log: log, streams: make(map[uint32]*rtxStream), last: now()}
	l.tokens = rtxBucket(float64(target()) / 8)
	return l
}

// rtxBucket is the most the bucket holds, in bytes, at rate bytes a second.
func rtxBucket(rate float64) float64 { return max(rate*rtxBurst.Seconds(), 2*1500) }

// BindLocalStream limits the retransmissions of a video stream.
func (l *rtxLimiter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !streamIs(info, "video") {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		size := h.MarshalSize() + len(payload)
		if !l.admit(h.SSRC, h.SequenceNumber, size) {
			return size, nil
		}
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream forgets the stream.
func (l *rtxLimiter) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.streams, info.SSRC)
}

// admit reports whether packet seq of stream ssrc, size bytes, may go on.
func (l *rtxLimiter) admit(ssrc uint32, seq uint16, size int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	rate := float64(l.target()) / 8
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*rate, rtxBucket(rate))
	l.last = now
	s := l.streams[ssrc]
	if s == nil {
		s = &rtxStream{}
		l.streams[ssrc] = s
	}
	if !s.started || int16(seq-s.highest) > 0 {
		s.started, s.highest, s.lastNew = true, seq, now
		return true
	}
	switch {
	case now.Sub(s.lastNew) > rtxStale:
		l.drop(&l.dropped.stale, "for a paused stream")
		return false
	case now.Sub(s.resent[seq]) < rtxRepeat:
		l.drop(&l.dropped.repeat, "repeated")
		return false
	case l.tokens < float64(size):
		l.drop(&l.dropped.budget, "over budget")
		return false
	}
	l.tokens -= float64(size)
	if s.resent == nil || len(s.resent) > 1024 {
		s.resent = make(map[uint16]time.Time)
	}
	s.resent[seq] = now
	return true
}

// drop counts a retransmission dropped, and logs the first of each kind
// and every thousandth. Callers hold mu.
func (l *rtxLimiter) drop(n *int, why string) {
	*n++
	if *n == 1 || *n%1000 == 0 {
		l.log.Infof("retransmissions %s: %d dropped so far", why, *n)
	}
}
