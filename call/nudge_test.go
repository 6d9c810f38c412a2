package call

import (
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Only a succeeded, not yet nominated pair whose remote side was learnt
// from a UDP check is nudged.
func TestLearntPairs(t *testing.T) {
	cand := func(id, typ, proto, ip string) webrtc.ICECandidateStats {
		ct, err := webrtc.NewICECandidateType(typ)
		if err != nil {
			t.Fatal(err)
		}
		return webrtc.ICECandidateStats{ID: id, Type: webrtc.StatsTypeRemoteCandidate, CandidateType: ct, Protocol: proto, IP: ip, Port: 5000, Priority: 1853825023}
	}
	pair := func(id, remote string, st webrtc.StatsICECandidatePairState, nominated bool) webrtc.ICECandidatePairStats {
		return webrtc.ICECandidatePairStats{ID: id, Type: webrtc.StatsTypeCandidatePair, RemoteCandidateID: remote, State: st, Nominated: nominated}
	}
	report := webrtc.StatsReport{
		"r1": cand("r1", "prflx", "udp", "10.0.0.1"),
		"r2": cand("r2", "prflx", "udp", "10.0.0.2"),
		"r3": cand("r3", "host", "udp", "10.0.0.3"),
		"r4": cand("r4", "prflx", "tcp", "10.0.0.4"),
		"r5": cand("r5", "prflx", "udp", "10.0.0.5"),
		"p1": pair("p1", "r1", webrtc.StatsICECandidatePairStateSucceeded, false),
		"p2": pair("p2", "r2", webrtc.StatsICECandidatePairStateSucceeded, true),
		"p3": pair("p3", "r3", webrtc.StatsICECandidatePairStateSucceeded, false),
		"p4": pair("p4", "r4", webrtc.StatsICECandidatePairStateSucceeded, false),
		"p5": pair("p5", "r5", webrtc.StatsICECandidatePairStateInProgress, false),
		"p6": pair("p6", "missing", webrtc.StatsICECandidatePairStateSucceeded, false),
	}
	got := learntPairs(report)
	if len(got) != 1 || got[0].IP != "10.0.0.1" {
		t.Fatalf("learnt pairs %+v; want the one succeeded, unnominated UDP prflx pair (10.0.0.1)", got)
	}
}

// The candidate the session adds is the learnt one as a peer signals it:
// same type, address, port and priority, and not Equal to the learnt one,
// or pion would drop it as a repeat without running its checks.
func TestSignalledPrflxReplacesTheLearntOne(t *testing.T) {
	c := webrtc.ICECandidateStats{CandidateType: webrtc.ICECandidateTypePrflx, Protocol: "udp", IP: "192.0.2.7", Port: 61000, Priority: 1853825023}
	signalled, err := ice.UnmarshalCandidate(signalledPrflx(c))
	if err != nil {
		t.Fatalf("%q: %v", signalledPrflx(c), err)
	}
	learnt, err := ice.NewCandidatePeerReflexive(&ice.CandidatePeerReflexiveConfig{
		Network: "udp", Address: "192.0.2.7", Port: 61000, Component: 1, Priority: 1853825023,
	})
	if err != nil {
		t.Fatal(err)
	}
	if signalled.Type() != ice.CandidateTypePeerReflexive || signalled.Address() != "192.0.2.7" ||
		signalled.Port() != 61000 || signalled.Priority() != 1853825023 {
		t.Errorf("signalled %v; want prflx 192.0.2.7:61000 priority 1853825023", signalled)
	}
	if signalled.Equal(learnt) {
		t.Errorf("signalled %v Equal to learnt %v: pion would take it for a repeat", signalled, learnt)
	}
}
