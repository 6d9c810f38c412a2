package call

import (
	"errors"
	"testing"
	"time"
)

func TestParseICEServers(t *testing.T) {
	got, err := ParseICEServers("", "", "")
	if err != nil || len(got) != 0 {
		t.Errorf(`ParseICEServers("") = %v, %v; want none`, got, err)
	}
	got, err = ParseICEServers(" stun:stun.example:3478 , turn:turn.example:443?transport=tcp,turns:t.example", "u", "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].URLs) != 1 || len(got[1].URLs) != 2 || got[1].Username != "u" || got[1].Credential != "p" {
		t.Errorf("got %+v", got)
	}
	if got[0].Username != "" {
		t.Errorf("STUN server got credentials: %+v", got[0])
	}
	if _, err := ParseICEServers("turn:turn.example", "", ""); !errors.Is(err, ErrBadICEServer) {
		t.Errorf("TURN without credentials: %v", err)
	}
	if _, err := ParseICEServers("http://nope", "", ""); !errors.Is(err, ErrBadICEServer) {
		t.Errorf("bad scheme: %v", err)
	}
	def := DefaultICEServers()
	if len(def) != 2 || def[0].URLs[0] != "stun:stun.l.google.com:19302" || len(def[1].URLs) != 3 || def[1].Username != "openrelayproject" {
		t.Errorf("defaults differ from docs/protocol.md §4: %+v", def)
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	for name, opt := range map[string]Option{
		"ring":    WithRingTimeout(0),
		"bitrate": WithBitrate(500, 100, 1000),
		"video":   WithVideo(641, 480, 30),
		"media":   WithMedia(Media(42)),
		"clock":   WithClock(nil),
	} {
		if _, err := New(opt, WithMedia(MediaSynthetic)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
	e, err := New(WithMedia(MediaSynthetic), WithRingTimeout(time.Second), WithBitrate(50_000, 300_000, 900_000))
	if err != nil {
		t.Fatal(err)
	}
	if e.MediaSource() != "synthetic" {
		t.Errorf("MediaSource = %q", e.MediaSource())
	}
}

func TestMediaSourceSaysWhatIsMissing(t *testing.T) {
	cases := []struct {
		m           Media
		camera, mic bool
		want        string
	}{
		{MediaSynthetic, true, true, "synthetic"},
		{MediaAuto, true, true, "devices"},
		{MediaAuto, false, false, "synthetic (no camera or microphone found)"},
		{MediaAuto, false, true, "synthetic video (no camera found), microphone"},
		{MediaAuto, true, false, "camera, synthetic tone (no microphone found)"},
	}
	for _, c := range cases {
		if got := describeSource(c.m, c.camera, c.mic); got != c.want {
			t.Errorf("describeSource(%v, %v, %v) = %q, want %q", c.m, c.camera, c.mic, got, c.want)
		}
	}
}

// TestAutoFallsBackOnThisMachine: with MediaAuto and no devices (as on the
// build machine), a call still has media, from the synthetic sources.
func TestAutoFallsBackWithoutDevices(t *testing.T) {
	e, err := New(WithMedia(MediaAuto), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if e.hasCamera && e.hasMic.Load() {
		t.Skip("this machine has a camera and a microphone")
	}
	m, err := e.openMedia("t")
	if err != nil {
		t.Fatalf("openMedia in auto mode: %v", err)
	}
	defer m.close()
	if m.video == nil || m.audio == nil {
		t.Fatal("missing tracks")
	}
	if e.MediaSource() == "devices" {
		t.Errorf("MediaSource = %q, want it to say what is synthetic", e.MediaSource())
	}
	t.Logf("MediaSource: %s", e.MediaSource())
}

func TestStrings(t *testing.T) {
	for k, want := range map[SignalKind]string{SignalOffer: "OFFER", SignalAnswer: "ANSWER", SignalCandidate: "CANDIDATE", SignalBye: "BYE", SignalUnknown: "UNKNOWN"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", int(k), k.String())
		}
	}
	for m, want := range map[Media]string{MediaAuto: "auto", MediaDevices: "devices", MediaSynthetic: "synthetic", MediaUnknown: "unknown"} {
		if m.String() != want {
			t.Errorf("Media %d = %q", int(m), m.String())
		}
		if m != MediaUnknown {
			if p, err := ParseMedia(want); err != nil || p != m {
				t.Errorf("ParseMedia(%q) = %v, %v", want, p, err)
			}
		}
	}
}

func TestHandleRejectsMalformedSignals(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	c.onOffer = func(Signal) bool { return true }
	ds := c.dial()
	for _, sig := range []Signal{{}, {Kind: SignalAnswer}, {Kind: SignalCandidate}, {Kind: SignalOffer}} {
		if err := ds.Handle(sig); !errors.Is(err, ErrBadSignal) {
			t.Errorf("Handle(%+v) = %v, want ErrBadSignal", sig, err)
		}
	}
	offer := ds.pc.LocalDescription()
	if err := ds.Handle(Signal{Kind: SignalOffer, Description: offer}); !errors.Is(err, ErrUnexpectedSignal) {
		t.Errorf("OFFER to the caller = %v, want ErrUnexpectedSignal", err)
	}
	if _, err := c.doctor.Dial("x", nil); !errors.Is(err, ErrNoSignaller) {
		t.Errorf("Dial(nil signaller) = %v", err)
	}
	ds.Close(EndUnknown)
	if end := c.doctorRec.waitState(t, StateEnded, 5*time.Second); end.Reason != EndShutdown {
		t.Errorf("Close(EndUnknown) reason = %v, want EndShutdown", end.Reason)
	}
	waitDone(t, ds, 10*time.Second)
	c.wait()
}
