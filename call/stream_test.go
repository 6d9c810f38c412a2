package call

import (
	"regexp"
	"sync"
	"testing"
	"time"
)

var (
	msidRE     = regexp.MustCompile(`(?m)^a=msid:(\S+) \S+\r?$`)
	ssrcMsidRE = regexp.MustCompile(`(?m)^a=ssrc:\d+ msid:(\S+) \S+\r?$`)
	cnameRE    = regexp.MustCompile(`(?m)^a=ssrc:\d+ cname:(\S+)\r?$`)
)

// streamsOf returns every stream id and every CNAME a description names.
func streamsOf(sdp string) (streams, cnames map[string]int) {
	streams, cnames = map[string]int{}, map[string]int{}
	for _, re := range []*regexp.Regexp{msidRE, ssrcMsidRE} {
		for _, m := range re.FindAllStringSubmatch(sdp, -1) {
			streams[m[1]]++
		}
	}
	for _, m := range cnameRE.FindAllStringSubmatch(sdp, -1) {
		cnames[m[1]]++
	}
	return streams, cnames
}

// checkOneStream fails unless sdp puts both of its tracks in one stream
// named in all four stream lines (a=msid and a=ssrc msid: for each
// m-section), with one CNAME for both RTP streams, and returns that stream.
func checkOneStream(t *testing.T, side, sdp string) string {
	t.Helper()
	streams, cnames := streamsOf(sdp)
	if len(streams) != 1 || len(cnames) != 1 {
		t.Fatalf("%s names streams %v and CNAMEs %v; want one of each:\n%s", side, streams, cnames, sdp)
	}
	for id, n := range streams {
		if n != 4 {
			t.Errorf("%s names stream %s %d times; want 4 (a=msid and a=ssrc msid: of audio and video)", side, id, n)
		}
		return id
	}
	return ""
}

// TestOneStreamPerCall: each side's audio and video are one media stream
// with one CNAME, so the far end lip-syncs them and an app that plays the
// video track's stream hears the sound too; the receiving side sees both
// remote tracks in that stream; and the next call has a stream of its own.
func TestOneStreamPerCall(t *testing.T) {
	doctor, patient := testEngine(t), testEngine(t)
	var streams []string
	for i := range 2 {
		c := newCallPair(t, doctor, patient)
		var mu sync.Mutex
		var answer string
		deliver := c.toDoctor.deliver
		c.toDoctor.deliver = func(s Signal) {
			if s.Kind == SignalAnswer {
				mu.Lock()
				answer = s.Description.SDP
				mu.Unlock()
			}
			deliver(s)
		}
		ds := c.dial()
		ps := c.patientSession(10 * time.Second)
		c.doctorRec.waitState(t, StateConnected, 15*time.Second)
		waitFrames(t, ds, 5, 15*time.Second)
		waitFrames(t, ps, 5, 15*time.Second)

		offerStream := checkOneStream(t, "the OFFER", ds.pc.LocalDescription().SDP)
		mu.Lock()
		answerStream := checkOneStream(t, "the ANSWER", answer)
		mu.Unlock()
		if offerStream == answerStream {
			t.Errorf("the doctor's and the patient's stream are both %s", offerStream)
		}
		for _, side := range []struct {
			name string
			s    *Session
			want string
		}{{"patient", ps, offerStream}, {"doctor", ds, answerStream}} {
			waitRemoteAudio(t, side.s)
			v, a := side.s.video.Load().track.StreamID(), side.s.audio.Load().track.StreamID()
			if v != side.want || a != side.want {
				t.Errorf("call %d: the %s receives video in stream %q and audio in %q; want both in %q", i, side.name, v, a, side.want)
			}
		}
		streams = append(streams, offerStream)
		ds.Hangup()
		waitDone(t, ds, 10*time.Second)
		waitDone(t, ps, 10*time.Second)
		c.wait()
	}
	if streams[0] == streams[1] {
		t.Errorf("two calls share the stream %s", streams[0])
	}
}

func waitRemoteAudio(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.audio.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no remote audio track", s.Peer())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
