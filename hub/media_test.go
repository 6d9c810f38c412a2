package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/uhiclient"
)

// TestOneMegabyteNATSCarriesPhotoAndAttachmentWhole: on NATS servers of 1
// MB a message, a READY with a 1.6 MB photo and a 4 MB PDF reach the
// doctor's console whole, through the doctor's object store bucket, which
// the console empties once it has them.
func TestOneMegabyteNATSCarriesPhotoAndAttachmentWhole(t *testing.T) {
	r := newRigMaxPayload(t, oneMB)
	h := r.addHub(nil, nil)
	photos := make(chan string, 4)
	a := r.dial(testDoctors()[0])
	if err := a.Start(func(in *uhiclient.Inbound) error {
		photos <- in.Envelope.Message.Intent.Chat.Sender.Person.Image // the console takes its photo here
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()); a.Disconnect() })
	r.waitOnline(doctorA)

	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: "Manish", Cred: patientA}, Peer: uhiclient.Person{Cred: doctorA},
		ConsumerID: "eua", ConsumerURI: "http://p/api/v1", TransactionID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	jpeg, pdf := random(t, 1_200_000), random(t, 4_000_000) // 1.6 MB of base64, and 4 MB of file
	ready, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	ready.Message.Intent.Chat.Sender.Person.Image = base64.StdEncoding.EncodeToString(jpeg)
	attachment := b.Media("report.pdf", "application/pdf", pdf)
	for _, env := range []*uhiclient.Envelope{ready, attachment} {
		body, err := uhiclient.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if status, reply := post(t, h.srv.URL, body); status != http.StatusOK || reply != ack {
			t.Fatalf("%d bytes through a 1 MB NATS: %d %s; want ACK", len(body), status, reply)
		}
	}

	var photo string
	select {
	case photo = <-photos:
	case <-time.After(20 * time.Second):
		t.Fatal("no READY reached the console")
	}
	if got := recv(t, a.Signals()); got.MessageID != ready.Context.MessageID {
		t.Fatalf("delivered %s; want the READY", got.MessageID)
	}
	sameBytes(t, "the READY's photo", jpeg, photo)
	chat := recv(t, a.Chats())
	if chat.MessageID != attachment.Context.MessageID || chat.Chat == nil || chat.Chat.FileName != "report.pdf" {
		t.Fatalf("delivered %s %+v; want the attachment", chat.MessageID, chat.Chat)
	}
	sameBytes(t, "the PDF", pdf, chat.Chat.Value)

	// The console deleted what it took.
	obs, err := h.hub.mediaBucket(context.Background(), doctorA)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := obs.List(context.Background())
		if errors.Is(err, jetstream.ErrNoObjectsFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d objects left in %s after the console took them", len(left), MediaBucket(doctorA))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleReadsOnlyItsOwnDoctorsObjects: doctor B's NATS user reads B's
// media bucket and not A's.
func TestConsoleReadsOnlyItsOwnDoctorsObjects(t *testing.T) {
	r := newRigMaxPayload(t, oneMB)
	h := r.addHub(nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	secret := random(t, 300_000)
	for _, d := range []string{doctorA, doctorB} {
		obs, err := h.hub.mediaBucket(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obs.PutBytes(ctx, "photo", secret); err != nil {
			t.Fatal(err)
		}
	}
	nc, err := nats.Connect(r.url, nats.UserInfo("asha", "pw-b"), nats.CustomInboxPrefix(InboxPrefix(doctorB)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	own, err := js.ObjectStore(ctx, MediaBucket(doctorB))
	if err != nil {
		t.Fatalf("B's user on B's bucket: %v", err)
	}
	if got, err := own.GetBytes(ctx, "photo"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("B's user reading B's object: %d bytes, %v", len(got), err)
	}
	if err := own.Delete(ctx, "photo"); err != nil {
		t.Errorf("B's user deleting B's object: %v", err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if _, err := js.ObjectStore(short, MediaBucket(doctorA)); err == nil {
		t.Error("B's user bound A's media bucket")
	}
	// Past the library: the stream's API and the object's subjects.
	for _, subj := range []string{
		"$JS.API.STREAM.MSG.GET." + mediaStream(doctorA),
		"$JS.API.DIRECT.GET." + mediaStream(doctorA) + ".$O." + MediaBucket(doctorA) + ".M.>",
		"$JS.API.CONSUMER.CREATE." + mediaStream(doctorA),
	} {
		if m, err := nc.Request(subj, []byte(`{"last_by_subj":"$O.`+MediaBucket(doctorA)+`.M.cGhvdG8="}`), time.Second); err == nil {
			t.Errorf("B's user asked %s and was answered: %s", subj, m.Data)
		}
	}
	if _, err := nc.SubscribeSync("$O." + MediaBucket(doctorA) + ".C.>"); err == nil {
		_ = nc.Flush()
		if err := nc.LastError(); err == nil || !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("B's user subscribed to A's chunks: %v", err)
		}
	}
}

// random is n random bytes.
func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sameBytes checks that b64, decoded, is want, by SHA-256.
func sameBytes(t *testing.T, what string, want []byte, b64 string) {
	t.Helper()
	got, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s: %d bytes of base64 that do not decode: %v", what, len(b64), err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("%s: %d bytes, SHA-256 %x; want %d bytes, %x", what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
	t.Logf("%s: %d bytes, SHA-256 equal", what, len(got))
}

// TestLinkSaysWhatNATSRefused: a console logged in with another doctor's
// NATS user fails to start at once, saying which user may not do what, and
// its status bar says so too.
func TestLinkSaysWhatNATSRefused(t *testing.T) {
	r := newRig(t)
	r.addHub(nil, nil)
	l, err := Dial(LinkConfig{URL: r.url, Doctor: doctorA, Options: []nats.Option{nats.UserInfo("asha", "pw-b")}, Log: r.log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Disconnect()
	start := time.Now()
	err = l.Start(nil)
	took := time.Since(start)
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), `NATS user "asha" may not`) || !strings.Contains(err.Error(), Token(doctorA)) {
		t.Fatalf("Start: %v; want %v naming the user and the subject", err, ErrDenied)
	}
	if took > 5*time.Second {
		t.Errorf("refused after %v; the first violation should end the wait", took.Round(time.Millisecond))
	}
	if s := l.Status(); !strings.HasPrefix(s, `hub REFUSED: NATS user "asha" may not `) || strings.Contains(s, "nats: permissions violation") {
		t.Errorf("status %q", s)
	}
	_ = l.Close(context.Background())
}
