package call

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// sendPacer is the congestion controller's pacer (gcc.Pacer): what the call
// sends leaves at pacingFactor times the controller's target rate, as with
// pion's LeakyBucketPacer, but voice goes first, as in libwebrtc's pacer.
//
// Why not pion's: its single queue, first in first out, holds each audio
// packet behind the video queued before it. Between the track and the
// wire, the console's audio packets left up to 30 to 38 ms later than
// their capture spacing says (the 99th percentile 15 to 20 ms, against 2
// to 5 ms before the pacer; four calls with the Chromium patient). A
// Chromium receiver takes that for network jitter: its audio jitter buffer
// went from 40 ms to 80 to 120 ms within a call, and the sound fell up to
// 118 ms behind the picture (make lipsync) until its sync caught up.
//
// Audio is sent as soon as it is written, ahead of queued video, and is
// counted against the video's rate. Overtaking would break the
// transport-wide sequence numbers, which are given before the pacer
// (twcc.HeaderExtensionInterceptor): a video packet sent after a higher
// numbered audio packet looks lost in the peer's feedback until it
// arrives, and pion's loss-based controller took that for loss (an earlier
// try of audio first: a 300 kbit/s link fell back to audio only). So the
// pacer numbers packets again as they leave, in the order they leave, as
// libwebrtc's pacer does; the controller reads the number afterwards, in
// the writer it gave AddStream.
type sendPacer struct {
	log logging.LeveledLogger

	mu      sync.Mutex
	rate    float64 // bytes a second for video
	audio   []*pacedPacket
	video   []*pacedPacket
	queued  int // bytes of video waiting
	writers map[uint32]interceptor.RTPWriter
	closed  bool

	wake chan struct{}
	done chan struct{}
	exit chan struct{}
	pool sync.Pool
}

const (
	// pacingFactor is how far above the congestion controller's target
	// the pacer may send (pion's factor).
	pacingFactor = 1.5
	// pacingBurst is how much unused rate the pacer keeps, as time at the
	// current rate: after a pause, video starts at once but does not burst.
	pacingBurst = 5 * time.Millisecond
	// pacingQueueLimit is how long video may wait at most: a queue longer
	// than that at the current rate is sent faster, so that it drains in
	// that time (libwebrtc's pacer has the same limit, 2 s).
	pacingQueueLimit = 2 * time.Second
	// pacedBuffer is the size of a pooled packet buffer: a packet fits in
	// an Ethernet frame.
	pacedBuffer = 1500
)

// pacedPacket is a packet waiting in the pacer.
type pacedPacket struct {
	header     rtp.Header
	buf        *[]byte
	size       int
	attributes interceptor.Attributes
	twcc       uint8 // the transport-wide sequence number's extension id, 0 if none
}

// pacedStream is what the pacer needs to know of a stream, given to it by
// pacingTagger in each packet's attributes.
type pacedStream struct {
	audio bool
	twcc  uint8
}

// pacedStreamKey is the attributes key of a packet's pacedStream.
type pacedStreamKey struct{}

func newSendPacer(initial int, log logging.LeveledLogger) *sendPacer {
	p := &sendPacer{
		log:     log,
		rate:    pacingFactor * float64(initial) / 8,
		writers: make(map[uint32]interceptor.RTPWriter),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exit:    make(chan struct{}),
	}
	p.pool.New = func() any {
		b := make([]byte, pacedBuffer)
		return &b
	}
	go p.run()
	return p
}

// AddStream gives the pacer the writer of the stream ssrc.
func (p *sendPacer) AddStream(ssrc uint32, writer interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = writer
}

// SetTargetBitrate sets the congestion controller's target, in bit/s.
func (p *sendPacer) SetTargetBitrate(bps int) {
	p.mu.Lock()
	p.rate = pacingFactor * float64(bps) / 8
	p.mu.Unlock()
	p.poke()
}

// Write queues a copy of the packet: the caller may reuse its buffers.
func (p *sendPacer) Write(header *rtp.Header, payload []byte, attributes interceptor.Attributes) (int, error) {
	pk := &pacedPacket{header: header.Clone(), size: len(payload), attributes: attributes}
	if len(payload) <= pacedBuffer {
		pk.buf = p.pool.Get().(*[]byte)
	} else {
		b := make([]byte, len(payload))
		pk.buf = &b
	}
	copy(*pk.buf, payload)
	var audio bool
	if s, ok := attributes.Get(pacedStreamKey{}).(pacedStream); ok {
		audio, pk.twcc = s.audio, s.twcc
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.release(pk)
		return 0, nil
	}
	// The sender sleeps while nothing waits, and while video waits for
	// its rate: a packet wakes it when it may go at once.
	wake := audio || len(p.video) == 0
	if audio {
		p.audio = append(p.audio, pk)
	} else {
		p.video = append(p.video, pk)
		p.queued += pk.size
	}
	p.mu.Unlock()
	if wake {
		p.poke()
	}
	return header.MarshalSize() + len(payload), nil
}

func (p *sendPacer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Close stops the pacer; what waits in it is dropped with the call.
func (p *sendPacer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.done)
	<-p.exit
	p.mu.Lock()
	left := append(p.audio, p.video...)
	p.audio, p.video, p.queued = nil, nil, 0
	p.mu.Unlock()
	for _, pk := range left {
		p.release(pk)
	}
	return nil
}

func (p *sendPacer) release(pk *pacedPacket) {
	if cap(*pk.buf) == pacedBuffer {
		p.pool.Put(pk.buf)
	}
	pk.buf = nil
}

// run sends what is due whenever it is woken: by a write or a new rate,
// or by its timer when video waits for its rate. It sleeps while nothing
// waits.
func (p *sendPacer) run() {
	defer close(p.exit)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		credit float64 // bytes video may send now; negative when in debt
		last   = time.Now()
		seq    uint16 // the next transport-wide sequence number
	)
	for {
		select {
		case <-p.done:
			timer.Stop()
			return
		case <-p.wake:
		case <-timer.C:
		}
		now := time.Now()
		rate := p.sendRate()
		credit = min(credit+now.Sub(last).Seconds()*rate, rate*pacingBurst.Seconds())
		last = now
		for {
			pk := p.next(credit > 0)
			if pk == nil {
				break
			}
			credit -= float64(pk.header.MarshalSize() + pk.size)
			p.send(pk, &seq)
		}
		if wait, ok := p.videoWait(credit, rate); ok {
			timer.Reset(wait)
		}
	}
}

// sendRate is the rate video may use now: the target's, or more when the
// queue would otherwise wait longer than pacingQueueLimit.
func (p *sendPacer) sendRate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.rate, float64(p.queued)/pacingQueueLimit.Seconds())
}

// next takes the next packet to send: audio first, then video if it may
// go; nil when nothing may.
func (p *sendPacer) next(videoMay bool) *pacedPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.audio) > 0 {
		pk := p.audio[0]
		p.audio[0] = nil
		p.audio = p.audio[1:]
		return pk
	}
	if videoMay && len(p.video) > 0 {
		pk := p.video[0]
		p.video[0] = nil
		p.video = p.video[1:]
		p.queued -= pk.size
		return pk
	}
	return nil
}

// videoWait is how long until queued video may go, if any waits.
func (p *sendPacer) videoWait(credit, rate float64) (time.Duration, bool) {
	p.mu.Lock()
	waiting := len(p.video) > 0
	p.mu.Unlock()
	if !waiting {
		return 0, false
	}
	if rate <= 0 {
		return pacingBurst, true
	}
	return max(time.Duration(-credit/rate*float64(time.Second)), time.Millisecond), true
}

// send numbers the packet in departure order and hands it on.
func (p *sendPacer) send(pk *pacedPacket, seq *uint16) {
	p.mu.Lock()
	w := p.writers[pk.header.SSRC]
	p.mu.Unlock()
	defer p.release(pk)
	if w == nil {
		p.log.Warnf("pacer: no stream for ssrc %d", pk.header.SSRC)
		return
	}
	if pk.twcc != 0 && pk.header.GetExtension(pk.twcc) != nil {
		var ext [2]byte
		binary.BigEndian.PutUint16(ext[:], *seq)
		if err := pk.header.SetExtension(pk.twcc, ext[:]); err != nil {
			p.log.Warnf("pacer: transport sequence number: %v", err)
		}
		*seq++
	}
	if _, err := w.Write(&pk.header, (*pk.buf)[:pk.size], pk.attributes); err != nil {
		p.log.Debugf("pacer: send: %v", err)
	}
}

// pacingTagger tells the pacer, in each packet's attributes, whether the
// packet is audio and which header extension carries its transport-wide
// sequence number. It sits between the pacer and the interceptor that
// gives those numbers.
type pacingTagger struct{ interceptor.NoOp }

type pacingTaggerFactory struct{}

// NewInterceptor returns a tagger.
func (pacingTaggerFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &pacingTagger{}, nil
}

// BindLocalStream tags the stream's packets.
func (pacingTagger) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s := pacedStream{audio: streamIs(info, "audio")}
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			s.twcc = uint8(e.ID)
		}
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if a == nil {
			a = make(interceptor.Attributes)
		}
		a.Set(pacedStreamKey{}, s)
		return w.Write(h, payload, a)
	})
}
