package rx

import (
	"fmt"
	"testing"
	"time"
)

// TestQRCodesReadBack draws the QR codes of prescriptions that differ only
// in their id and time, as real ones do, and reads each back: the decoder
// misses some codes of this size. Of 40 made this way, 21, 23 and 27 were
// missed with the encoder's own mask pattern, before qrImage checked that
// its code reads back; the first is kept here (under -race a miss costs
// seconds). TestFilesQRRoundTrip reads one from the files.
func TestQRCodesReadBack(t *testing.T) {
	r := rules(t)
	for _, i := range []int{21} {
		p := testPrescription()
		p.ID = fmt.Sprintf("8f1c2d3e-0000-4000-8000-%012d", i*7919)
		s, _, err := Sign(p, r, Ed25519Key{Private: testKey(), ID: "hspa|k1"}, time.Unix(1796611338+int64(i)*61, 0))
		if err != nil {
			t.Fatal(err)
		}
		text, err := s.QR()
		if err != nil {
			t.Fatal(err)
		}
		img, err := qrImage(text, 4)
		if err != nil {
			t.Fatalf("prescription %d: %v", i, err)
		}
		if got, err := ReadQR(img); err != nil || got != text {
			t.Errorf("prescription %d: read back %v", i, err)
		}
	}
}
