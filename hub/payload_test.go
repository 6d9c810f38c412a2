package hub

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"teleconsole/uhiclient"
)

// A hospital's own NATS servers usually keep NATS's default max_payload of
// 1 MB, where the embedded server takes 10. On such a server a READY with
// the reference app's photo of a megabyte or more, and a chat attachment,
// must still reach the doctor whole (media_test.go), and a message the
// servers cannot carry even so must be refused for what it is (413, naming
// the limit), not answered 503 as if NATS were down, which the patient's
// app would retry for ever.

// oneMB is nats-server's default max_payload.
const oneMB = 1 << 20

// newRigMaxPayload is newRig on a NATS server that takes messages of at
// most maxPayload bytes (0: the embedded server's own limit).
func newRigMaxPayload(t testing.TB, maxPayload int32) *rig {
	t.Helper()
	ns, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Doctors: testDoctors(),
		HubUser: "hub", HubPassword: hubPass, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	r := newLogRig(t)
	r.ns, r.url = ns, ns.ClientURL()
	return r
}

func TestOneMegabyteNATSRefusesALargeTextWith413(t *testing.T) {
	r := newRigMaxPayload(t, oneMB)
	h := r.addHub(nil, nil)
	if got := h.nc.MaxPayload(); got != oneMB {
		t.Fatalf("the hub's NATS server takes %d bytes a message; this test wants NATS's default, %d", got, oneMB)
	}
	a := r.link(testDoctors()[0])
	r.waitOnline(doctorA)

	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: "Manish", Cred: patientA}, Peer: uhiclient.Person{Cred: doctorA},
		ConsumerID: "eua", ConsumerURI: "http://p/api/v1", TransactionID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// 2 MB of text: within what the hub's endpoint reads
	// (uhiclient.MediaBodyLimit), over what NATS carries, and no photo
	// or attachment that the object store could take.
	env := b.Text(strings.Repeat("a", 2_000_000))
	body, err := uhiclient.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= 2*oneMB-200_000 || len(body) > uhiclient.MediaBodyLimit {
		t.Fatalf("text envelope of %d bytes; want about 2 MB, within %d", len(body), uhiclient.MediaBodyLimit)
	}
	status, reply := post(t, h.srv.URL, body)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("attachment of %d bytes through a 1 MB NATS: %d %s; want 413", len(body), status, reply)
	}
	limit := strconv.Itoa(oneMB - 4096)
	if !strings.Contains(reply, limit) || !strings.Contains(reply, uhiclient.ErrBodyTooLarge.Error()) {
		t.Errorf("413 reply %s; want it to name the limit (%s bytes)", reply, limit)
	}

	// Nothing of it reached the console, and the hub still takes what
	// fits: the next message is the first the console gets.
	small := b.Text("the report is too big; I will bring it")
	smallBody, err := uhiclient.Marshal(small)
	if err != nil {
		t.Fatal(err)
	}
	if status, reply := post(t, h.srv.URL, smallBody); status != http.StatusOK || reply != ack {
		t.Fatalf("text after the refused attachment: %d %s", status, reply)
	}
	if got := recv(t, a.Chats()); got.MessageID != small.Context.MessageID {
		t.Fatalf("console got %s; want the text %s, and nothing of the refused attachment", got.MessageID, small.Context.MessageID)
	}
}

func TestOneMegabyteNATSRefusesALargeOutboundAttachment(t *testing.T) {
	// The doctor's attachment through a 1 MB NATS: the link says at once
	// that it is too large for the hub, rather than trying again until
	// the send's deadline and calling the hub unreachable.
	r := newRigMaxPayload(t, oneMB)
	r.addHub(nil, nil)
	a := r.link(testDoctors()[0])
	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: "Dr", Cred: doctorA}, Peer: uhiclient.Person{Cred: patientA},
		ConsumerID: "eua", ConsumerURI: "http://127.0.0.1:9/api/v1", TransactionID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	env := b.Media("prescription.pdf", "application/pdf", bytes.Repeat([]byte{0x25}, 1_500_000))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.Send(ctx, env.Context.ConsumerURI, env)
	if !errors.Is(err, uhiclient.ErrBodyTooLarge) || errors.Is(err, ErrHubUnreachable) {
		t.Fatalf("attachment of 2 MB through a 1 MB NATS: %v; want %v, not %v", err, uhiclient.ErrBodyTooLarge, ErrHubUnreachable)
	}
	if limit := strconv.Itoa(oneMB); !strings.Contains(err.Error(), limit) {
		t.Errorf("%v; want it to name the limit (%s bytes)", err, limit)
	}
}
