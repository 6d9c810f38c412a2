package call

import (
	"errors"
	"testing"

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
