package call

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"teleconsole/internal/turntest"
)

func startTURN(t *testing.T) *turntest.Server {
	t.Helper()
	srv, err := turntest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// turnEngine is a test engine whose only ICE server is srv over transport,
// with policy.
func turnEngine(t *testing.T, srv *turntest.Server, transport string, policy webrtc.ICETransportPolicy) *Engine {
	t.Helper()
	return testEngine(t, WithICEServers([]webrtc.ICEServer{{
		URLs: []string{srv.URL(transport)}, Username: turntest.User, Credential: turntest.Password,
	}}), WithICETransportPolicy(policy))
}

// TestCallThroughTURN: calls through a TURN server on loopback with either
// side, or both, allowed only relay candidates, the TURN server reached
// over UDP or TCP. The selected pair each side reports names the relay,
// and the allocation it names is the one that carried the media: thousands
// of packets, where any other allocation carried a few checks.
func TestCallThroughTURN(t *testing.T) {
	relay, all := webrtc.ICETransportPolicyRelay, webrtc.ICETransportPolicyAll
	for _, tc := range []struct {
		name                         string
		doctorPolicy, patientPolicy  webrtc.ICETransportPolicy
		doctorTransport, patientTURN string
		doctorPath, patientPath      string
	}{
		{"doctor relay-only over UDP", relay, all, "udp", "udp", "relay->host", "host->relay"},
		{"patient relay-only over TCP", all, relay, "udp", "tcp", "host->relay", "relay->host"},
		{"both relay-only", relay, relay, "tcp", "udp", "relay->relay", "relay->relay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTURN(t)
			doctor := turnEngine(t, srv, tc.doctorTransport, tc.doctorPolicy)
			patient := turnEngine(t, srv, tc.patientTURN, tc.patientPolicy)
			c := newCallPair(t, doctor, patient)
			ds := c.dial()
			ps := c.patientSession(10 * time.Second)
			c.doctorRec.waitState(t, StateConnected, 15*time.Second)
			sides := []struct {
				who  string
				rec  *recorder
				want string
			}{{"doctor", c.doctorRec, tc.doctorPath}, {"patient", c.patientRec, tc.patientPath}}
			// The first pair nominated may be a worse one whose check
			// answered first; renomination then moves to the best (at most
			// 3 s after the start of the checks).
			for _, side := range sides {
				side.rec.waitFor(t, side.who+"'s selected pair "+side.want, 10*time.Second, func([]StateEvent, []Stats) bool {
					paths := side.rec.paths // waitFor holds the lock
					return len(paths) > 0 && paths[len(paths)-1].String() == side.want
				})
			}
			before := map[string]int64{}
			for _, a := range srv.Allocations() {
				before[a.Relay] = a.Packets()
			}
			// 30 frames each way at 15 fps and the audio with them: 2 s of
			// media, hundreds of packets; checks are a few a second.
			waitFrames(t, ds, ds.FramesDecoded()+30, 15*time.Second)
			waitFrames(t, ps, ps.FramesDecoded()+30, 15*time.Second)
			onPath := map[string]bool{}
			for _, side := range sides {
				paths := side.rec.pathList()
				p := paths[len(paths)-1]
				if p.String() != side.want {
					t.Errorf("%s: selected pair %s (%s -> %s), want %s", side.who, p, p.Local, p.Remote, side.want)
				}
				// What the stats panel shows is the same pair.
				var sample Stats
				side.rec.waitFor(t, side.who+"'s stats with the path", 5*time.Second, func(_ []StateEvent, st []Stats) bool {
					if len(st) > 0 && st[len(st)-1].Path.Known() {
						sample = st[len(st)-1]
						return true
					}
					return false
				})
				if sample.Path != p || sample.PathType != "relay" {
					t.Errorf("%s: stats path %+v (%s), want the PathEvent's %+v", side.who, sample.Path, sample.PathType, p)
				}
				addr, _ := p.Relay()
				onPath[addr] = true
				if srv.Allocation(addr) == nil {
					t.Fatalf("%s: the path's relay %s is none of the server's allocations %v", side.who, addr, srv.Allocations())
				}
			}
			for _, a := range srv.Allocations() {
				carried := a.Packets() - before[a.Relay]
				switch {
				case onPath[a.Relay] && carried < 400:
					t.Errorf("allocation %v on the path carried %d packets in 2 s: too few for media", a, carried)
				case !onPath[a.Relay] && carried > 150:
					t.Errorf("allocation %v off the path carried %d packets in 2 s: media", a, carried)
				}
				t.Logf("allocation %v: %d packets in the last 2 s, on the path %v", a, carried, onPath[a.Relay])
			}
			ds.Hangup()
			waitDone(t, ds, 10*time.Second)
			waitDone(t, ps, 10*time.Second)
		})
	}
}

// TestCallPathTakesSignalledType: the host candidates of both sides come
// 2 s late, so each side first learns the other's host address from its
// checks, as peer-reflexive (RFC 8445 §7.3.1.3). When the candidate comes,
// the pair is the same but its remote side is now known as host (RFC 8838
// §11.4): both sides report the change, with the same addresses.
func TestCallPathTakesSignalledType(t *testing.T) {
	srv := startTURN(t)
	doctor := turnEngine(t, srv, "udp", webrtc.ICETransportPolicyAll)
	patient := turnEngine(t, srv, "udp", webrtc.ICETransportPolicyAll)
	c := newCallPair(t, doctor, patient)
	lateHost := func(s Signal) time.Duration {
		if s.Kind == SignalCandidate && strings.Contains(s.Candidate.Candidate, " typ host") {
			return 2 * time.Second
		}
		return 0
	}
	c.toPatient.delay, c.toDoctor.delay = lateHost, lateHost
	ds := c.dial()
	ps := c.patientSession(10 * time.Second)
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	for _, side := range []struct {
		who string
		rec *recorder
	}{{"doctor", c.doctorRec}, {"patient", c.patientRec}} {
		side.rec.waitFor(t, side.who+"'s pair reported as host->host", 15*time.Second, func([]StateEvent, []Stats) bool {
			paths := side.rec.paths // waitFor holds the lock
			return len(paths) > 0 && paths[len(paths)-1].String() == "host->host"
		})
		paths := side.rec.pathList()
		first, last := paths[0], paths[len(paths)-1]
		if first.String() != "host->prflx" || first.Remote != last.Remote || first.Local != last.Local {
			t.Errorf("%s: pairs %+v; want host->prflx first, then host->host between the same addresses", side.who, paths)
		}
	}
	waitFrames(t, ds, 15, 10*time.Second)
	waitFrames(t, ps, 15, 10*time.Second)
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
}

// TestCallRenominatesToBetterPair: at first the TURN server lets packets
// pass only between its relays, so the one pair that works, and the one
// nominated, is relay to relay; once it lets the doctor's host candidate
// reach the patient's relay, the doctor nominates that better pair again
// (renomination), both sides move to it and report it, and the media follows.
func TestCallRenominatesToBetterPair(t *testing.T) {
	srv := startTURN(t)
	srv.OnlyBetweenRelays(true)
	doctor := turnEngine(t, srv, "udp", webrtc.ICETransportPolicyAll)
	patient := turnEngine(t, srv, "udp", webrtc.ICETransportPolicyRelay)
	c := newCallPair(t, doctor, patient)
	ds := c.dial()
	ps := c.patientSession(10 * time.Second)
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	if paths := c.doctorRec.pathList(); len(paths) == 0 || paths[0].String() != "relay->relay" {
		t.Fatalf("doctor's first pairs %v; want relay->relay, the only one that works", paths)
	}
	srv.OnlyBetweenRelays(false)
	c.doctorRec.waitFor(t, "the doctor's pair renominated to host->relay", 15*time.Second, func([]StateEvent, []Stats) bool {
		paths := c.doctorRec.paths // waitFor holds the lock
		return paths[len(paths)-1].String() == "host->relay"
	})
	host := c.doctorRec.pathList()
	doctorHost := host[len(host)-1].Local
	c.patientRec.waitFor(t, "the patient following to the doctor's host candidate", 10*time.Second, func([]StateEvent, []Stats) bool {
		paths := c.patientRec.paths
		return len(paths) > 0 && paths[len(paths)-1].LocalType == "relay" && paths[len(paths)-1].Remote == doctorHost
	})
	t.Logf("doctor: %v; patient: %v", c.doctorRec.pathList(), c.patientRec.pathList())
	// The doctor's own allocation, on the first pair, no longer carries media.
	first := c.doctorRec.pathList()[0]
	own := srv.Allocation(first.Local)
	if own == nil {
		t.Fatalf("the first pair's local relay %s is none of the allocations %v", first.Local, srv.Allocations())
	}
	before := own.Packets()
	waitFrames(t, ds, ds.FramesDecoded()+30, 10*time.Second)
	waitFrames(t, ps, ps.FramesDecoded()+30, 10*time.Second)
	if carried := own.Packets() - before; carried > 150 {
		t.Errorf("the doctor's relay %s carried %d packets in 2 s of media after the renomination", own.Relay, carried)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
}

// A relay-only engine without a TURN server could never connect: New says
// so.
func TestRelayPolicyNeedsTURN(t *testing.T) {
	_, err := New(WithICEServers([]webrtc.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}),
		WithICETransportPolicy(webrtc.ICETransportPolicyRelay), WithMedia(MediaSynthetic), WithPlayback(false))
	if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "TURN") {
		t.Fatalf("New relay-only with STUN alone: err %v, want ErrInvalidOption naming TURN", err)
	}
	for in, want := range map[string]webrtc.ICETransportPolicy{"": webrtc.ICETransportPolicyAll, "all": webrtc.ICETransportPolicyAll, "relay": webrtc.ICETransportPolicyRelay} {
		if got, err := ParseICETransportPolicy(in); err != nil || got != want {
			t.Errorf("ParseICETransportPolicy(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseICETransportPolicy("nohost"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("ParseICETransportPolicy(nohost): err %v, want ErrInvalidOption", err)
	}
}
