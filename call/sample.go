package call

import (
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// sampler keeps the previous counters so each Stats sample reports rates
// over the last interval.
type sampler struct {
	at                  time.Time
	bytesIn, bytesOut   uint64
	packetsIn           uint64
	lost                int64
	framesIn, framesOut uint64
}

// sample takes one Stats sample. The ICE transport gives the selected
// candidate pair and its RTT; the stats interceptor gives bytes, loss and
// jitter both ways (docs/stack.md, "pion interceptors": GetStats has no outbound stats and no frame
// rate); frame rates are counted here.
func (s *Session) sample() Stats {
	now := s.e.now()
	st := Stats{At: now, TargetBitrate: s.target, AudioOnly: s.media.cameraOff.Load()}
	if !s.connectedAt.IsZero() {
		st.Duration = now.Sub(s.connectedAt)
	}

	// The ICE transport is asked directly: pc.GetStats races with pion's
	// own Close when the peer closes the connection (seen with -race).
	if dtls := s.videoSender.Transport(); dtls != nil {
		if ice := dtls.ICETransport(); ice != nil {
			if ps, ok := ice.GetSelectedCandidatePairStats(); ok {
				st.RTT = time.Duration(ps.CurrentRoundTripTime * float64(time.Second))
			}
			if pair, err := ice.GetSelectedCandidatePair(); err == nil && pair != nil {
				st.PathType = pathType(pair.Local.Typ, pair.Remote.Typ)
				st.Path = pathOf(pair)
			}
		}
	}

	var bytesIn, bytesOut, packetsIn uint64
	var lost int64
	if s.statsGetter != nil {
		if v := s.video.Load(); v != nil {
			in := s.statsGetter.Get(uint32(v.track.SSRC()))
			if in != nil {
				bytesIn += in.InboundRTPStreamStats.BytesReceived
				packetsIn += in.InboundRTPStreamStats.PacketsReceived
				lost += in.InboundRTPStreamStats.PacketsLost
				st.Jitter = time.Duration(in.InboundRTPStreamStats.Jitter * float64(time.Second))
			}
			st.VideoCodec = strings.TrimPrefix(v.track.Codec().MimeType, "video/")
		}
		if a := s.audio.Load(); a != nil {
			in := s.statsGetter.Get(uint32(a.track.SSRC()))
			if in != nil {
				bytesIn += in.InboundRTPStreamStats.BytesReceived
				packetsIn += in.InboundRTPStreamStats.PacketsReceived
				lost += in.InboundRTPStreamStats.PacketsLost
				if st.Jitter == 0 {
					st.Jitter = time.Duration(in.InboundRTPStreamStats.Jitter * float64(time.Second))
				}
			}
			st.AudioCodec = strings.TrimPrefix(a.track.Codec().MimeType, "audio/")
			st.AudioLevel = a.level()
		}
		for _, snd := range []*webrtc.RTPSender{s.videoSender, s.audioSender} {
			for _, enc := range snd.GetParameters().Encodings {
				out := s.statsGetter.Get(uint32(enc.SSRC))
				if out == nil {
					continue
				}
				bytesOut += out.OutboundRTPStreamStats.BytesSent
				if st.RTT == 0 && out.RemoteInboundRTPStreamStats.RoundTripTime > 0 {
					st.RTT = out.RemoteInboundRTPStreamStats.RoundTripTime
				}
			}
		}
	}

	framesIn := s.FramesDecoded()
	framesOut := s.media.framesOut.Load()
	if v := s.video.Load(); v != nil {
		st.WidthIn, st.HeightIn = v.size()
	}
	st.WidthOut, st.HeightOut = int(s.media.widthOut.Load()), int(s.media.heightOut.Load())

	prev := &s.sampler
	if !prev.at.IsZero() {
		if secs := now.Sub(prev.at).Seconds(); secs > 0 {
			st.BitrateIn = int(float64(bytesIn-prev.bytesIn) * 8 / secs)
			st.BitrateOut = int(float64(bytesOut-prev.bytesOut) * 8 / secs)
			st.FPSIn = float64(framesIn-prev.framesIn) / secs
			st.FPSOut = float64(framesOut-prev.framesOut) / secs
		}
		dRecv := int64(packetsIn - prev.packetsIn)
		if dLost := lost - prev.lost; dLost > 0 && dRecv+dLost > 0 {
			st.LossPercent = 100 * float64(dLost) / float64(dRecv+dLost)
		}
	}
	*prev = sampler{at: now, bytesIn: bytesIn, bytesOut: bytesOut, packetsIn: packetsIn, lost: lost, framesIn: framesIn, framesOut: framesOut}
	return st
}

// pathType names the selected pair by its most indirect side: relay, then
// srflx, then prflx, else host.
func pathType(local, remote webrtc.ICECandidateType) string {
	for _, t := range []webrtc.ICECandidateType{webrtc.ICECandidateTypeRelay, webrtc.ICECandidateTypeSrflx, webrtc.ICECandidateTypePrflx} {
		if local == t || remote == t {
			return t.String()
		}
	}
	if local == webrtc.ICECandidateTypeHost || remote == webrtc.ICECandidateTypeHost {
		return "host"
	}
	return ""
}
