package call

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/transport/v4/test"
)

// TestCodecFailureLeaksNothing: a call whose codec parameters cannot be
// made fails to start and leaves no goroutine behind.
func TestCodecFailureLeaksNothing(t *testing.T) {
	e := testEngine(t)
	broken := errors.New("no codec")
	e.codecParams = func() (vpx.VP8Params, opus.Params, error) { return vpx.VP8Params{}, opus.Params{}, broken }
	defer test.CheckRoutines(t)()
	for range 3 {
		if _, err := e.Dial("patient@sbx", newPipe()); !errors.Is(err, broken) {
			t.Fatalf("Dial with broken codecs: %v", err)
		}
	}
}

// TestAudioBitrateAfterClose: the adaptation may set the Opus rate while
// the call is closing. mediadevices' Opus encoder frees its engine on Close
// and SetBitRate does not check for that, so a rate set afterwards crashed
// the process (SIGSEGV in cgo); it must do nothing.
func TestAudioBitrateAfterClose(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	waitFrames(t, ds, 3, 10*time.Second)
	ds.Close(EndHangup)
	waitDone(t, ds, 10*time.Second)
	for _, bps := range []int{audioOnlyOpus, withVideoOpus} {
		ds.media.setAudioBitrate(bps)
	}
	c.wait()
}
