package hub

import (
	"strings"
	"testing"

	"teleconsole/uhiclient"
)

// TestHubCarriesAReadyWithAPhoto: the patients' reference app puts the
// patient's photo in every READY, base64, often over a megabyte; the hub
// must hand such a READY to the console like any other.
func TestHubCarriesAReadyWithAPhoto(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	a := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	body := patientReady(t, doctorA, "http://p/api/v1")
	in, err := uhiclient.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	in.Envelope.Message.Intent.Chat.Sender.Person.Image = strings.Repeat("QUJD", 400_000) // 1.6 MB
	big, err := uhiclient.Marshal(&in.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if status, reply := post(t, h.srv.URL, big); status != 200 || reply != ack {
		t.Fatalf("READY of %d bytes: %d %s", len(big), status, reply)
	}
	if got := recv(t, a.Signals()); got.MessageID != in.MessageID || got.Signal.Type != uhiclient.SignalReady {
		t.Fatalf("delivered %s %v; want the READY", got.MessageID, got.Signal.Type)
	}
}
