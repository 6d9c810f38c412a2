package call

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

const (
	peerVideoSSRC, peerAudioSSRC = 10, 20
	videoRate, opusRate          = 90000.0, 48000.0
)

// peerStreams feeds a playoutSync a peer whose pictures are shown
// videoDelay after capture and whose sound is decoded audioDelay after it,
// for d of call, and returns the hold for the last sound.
func peerStreams(p *playoutSync, t0 time.Time, d, videoDelay, audioDelay time.Duration) time.Duration {
	// The peer's clock is 3 s ahead of ours: only differences count.
	peer := t0.Add(3 * time.Second)
	p.senderReport(&rtcp.SenderReport{SSRC: peerVideoSSRC, NTPTime: ntpTime(peer), RTPTime: 1000})
	p.senderReport(&rtcp.SenderReport{SSRC: peerAudioSSRC, NTPTime: ntpTime(peer), RTPTime: 500000})
	var hold time.Duration
	for at := time.Duration(0); at < d; at += 10 * time.Millisecond {
		if at%(30*time.Millisecond) == 0 {
			p.videoShown(peerVideoSSRC, 1000+uint32(at.Seconds()*videoRate), videoRate, t0.Add(at+videoDelay))
		}
		if at%(20*time.Millisecond) == 0 {
			hold = p.audioHold(peerAudioSSRC, 500000+uint32(at.Seconds()*opusRate), opusRate, t0.Add(at+audioDelay))
		}
	}
	return hold
}

// From a Chromium patient the picture came 70 to 75 ms after capture and
// the sound 21 ms: the sound is held by the difference.
func TestPlayoutHoldsTheSoundForThePicture(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	p := newPlayoutSync()
	if got := peerStreams(p, t0, 2*time.Second, 72*time.Millisecond, 21*time.Millisecond); absDuration(got-51*time.Millisecond) > time.Millisecond {
		t.Errorf("sound held %v, want 51ms (picture at 72 ms, sound at 21 ms)", got)
	}
}

// The sound is never held for longer than maxAudioHold, and never when it
// comes after the picture: the picture is not held for it.
func TestPlayoutHoldIsBounded(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	if got := peerStreams(newPlayoutSync(), t0, 2*time.Second, 600*time.Millisecond, 20*time.Millisecond); got != maxAudioHold {
		t.Errorf("picture 580 ms behind: sound held %v, want at most %v", got, maxAudioHold)
	}
	if got := peerStreams(newPlayoutSync(), t0, 2*time.Second, 30*time.Millisecond, 90*time.Millisecond); got != 0 {
		t.Errorf("sound 60 ms behind the picture: held %v, want 0", got)
	}
}

// Each change of the hold is a jump in the sound, so a small drift of the
// delays leaves it alone; a larger one moves it, to within a step of the
// difference.
func TestPlayoutHoldMovesInSteps(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	for _, c := range []struct {
		later time.Duration // the picture's delay after 2 s, from 80 ms
		moved bool
	}{{10 * time.Millisecond, false}, {30 * time.Millisecond, true}} {
		p := newPlayoutSync()
		first := peerStreams(p, t0, 2*time.Second, 80*time.Millisecond, 20*time.Millisecond)
		got := peerStreams(p, t0.Add(2*time.Second), 3*time.Second, 80*time.Millisecond+c.later, 20*time.Millisecond)
		want := 60*time.Millisecond + c.later
		switch {
		case !c.moved && got != first:
			t.Errorf("picture %v later: hold moved from %v to %v", c.later, first, got)
		case c.moved && (got == first || absDuration(got-want) >= holdStep):
			t.Errorf("picture %v later: hold from %v to %v, want within %v of %v", c.later, first, got, holdStep, want)
		}
	}
}

// With no report from the peer there is nothing to sync by.
func TestPlayoutNoReportNoHold(t *testing.T) {
	p := newPlayoutSync()
	t0 := time.Unix(1796166760, 0)
	for i := range 50 {
		p.videoShown(peerVideoSSRC, uint32(i*3000), videoRate, t0.Add(time.Duration(i)*33*time.Millisecond+200*time.Millisecond))
		if got := p.audioHold(peerAudioSSRC, uint32(i*960), opusRate, t0.Add(time.Duration(i)*20*time.Millisecond)); got != 0 {
			t.Fatalf("no sender report: sound held %v", got)
		}
	}
}

func TestNTPRoundTrip(t *testing.T) {
	at := time.Unix(1796166760, 123456789)
	if got := fromNTP(ntpTime(at)); absDuration(got.Sub(at)) > time.Nanosecond {
		t.Errorf("fromNTP(ntpTime(%v)) = %v", at, got)
	}
}

// Each new hold is told, with the delays it came from, and only new ones.
func TestPlayoutTellsEachNewHold(t *testing.T) {
	var told []time.Duration
	p := newPlayoutSync()
	p.changed = func(hold, video, audio time.Duration) {
		if hold != min(video-audio, maxAudioHold) {
			t.Errorf("hold %v told with delays %v and %v", hold, video, audio)
		}
		told = append(told, hold)
	}
	t0 := time.Unix(1796166760, 0)
	peerStreams(p, t0, 2*time.Second, 72*time.Millisecond, 21*time.Millisecond)
	peerStreams(p, t0.Add(2*time.Second), 2*time.Second, 72*time.Millisecond, 21*time.Millisecond)
	if len(told) != 1 {
		t.Errorf("holds told: %v, want one (the delays stayed)", told)
	}
}
