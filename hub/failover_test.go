package hub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/uhiclient"
)

// TestNoPublishOutlivesItsAnswer: the body the endpoint hands deliver is
// its pooled buffer, taken by the next request once deliver has answered.
// A publish still unanswered by then (the patient gave up, or JetStream
// did not answer in time) must not be sent again afterwards, as the NATS
// client's retry after "no responders" does, with whatever the buffer
// holds by then under the first message's Nats-Msg-Id. That is what the
// cluster test's "stored twice" was: a node dies, the stream has no
// responder for a moment, the patient's request ends, another READY takes
// the buffer, and the retry stores that READY a second time under the
// first one's id, on the first one's doctor's subject.
func TestNoPublishOutlivesItsAnswer(t *testing.T) {
	// No stream: a publish is answered "no responders", as it is while a
	// cluster has no stream leader.
	h, js, ctx := streamlessHub(t)
	body, in := readyTo(t, doctorA)
	gone, giveUp := context.WithCancel(context.Background())
	giveUp() // the patient's request has ended
	if err := h.hub.deliver(gone, in, body); err == nil {
		t.Fatal("delivered with no stream")
	}
	// The endpoint's next request takes the buffer; the stream is back.
	next := patientReady(t, doctorB, "http://p/api/v1")
	copy(body, next)
	for i := len(next); i < len(body); i++ {
		body[i] = ' '
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: Stream, Subjects: []string{inboundAll}, Storage: jetstream.FileStorage, MaxAge: holdFor, Duplicates: holdFor,
	}); err != nil {
		t.Fatal(err)
	}
	// Past the client's retries (two, 250 ms apart): whatever the stream
	// holds now was published after the hub answered.
	time.Sleep(time.Second)
	s, err := js.Stream(ctx, Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := uhiclient.Decode(m.Data)
		storedID := ""
		if stored != nil {
			storedID = stored.MessageID
		}
		t.Errorf("stored after the hub answered 503: on %s, Nats-Msg-Id %s, a body whose message_id is %q (the patient's was %s)",
			m.Subject, m.Header.Get(jetstream.MsgIDHeader), storedID, in.MessageID)
	}
}

// TestLinkShowsNoOtherDoctorsMessage: a message on a doctor's subject
// that is addressed to another doctor (what the resend above stored) is
// not handed to the console; the next one for it is.
func TestLinkShowsNoOtherDoctorsMessage(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	a := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	forB, forA := patientReady(t, doctorB, "http://p/api/v1"), patientReady(t, doctorA, "http://p/api/v1")
	for _, body := range [][]byte{forB, forA} {
		if _, err := js.Publish(ctx, InboundSubject(doctorA), body, jetstream.WithMsgID(messageID(t, body))); err != nil {
			t.Fatal(err)
		}
	}
	if in := recv(t, a.Signals()); in.MessageID != messageID(t, forA) {
		t.Fatalf("doctor A's console got %s (for %s); want only its own READY %s", in.MessageID, in.Receiver, messageID(t, forA))
	}
}

// A publish whose acknowledgement never comes (its node died with it) is
// let go once the patient has been answered: left pending, such publishes
// would pile up over failovers until the client refused every new one.
func TestLostAcknowledgementIsLetGo(t *testing.T) {
	// No stream, and something on the doctor's subject that takes every
	// message and answers none: a publish that is never acknowledged.
	h, _, ctx := streamlessHub(t)
	sink, err := h.nc.Subscribe(InboundSubject(doctorA), func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Unsubscribe()
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	body, in := readyTo(t, doctorA)
	if err := h.hub.deliver(ctx, in, body); err == nil {
		t.Fatal("delivered with no acknowledgement")
	}
	// The last attempt's publish is let go at its own timeout.
	deadline := time.Now().Add(publishTimeout + 5*time.Second)
	for h.hub.js.PublishAsyncPending() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d publishes still wait for an acknowledgement %v after the patient was answered",
				h.hub.js.PublishAsyncPending(), publishTimeout+5*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamlessHub is a hub with doctor A online whose stream has been
// deleted, JetStream on its connection, and a context for the test.
func streamlessHub(t *testing.T) (*hubRun, jetstream.JetStream, context.Context) {
	t.Helper()
	r := newRig(t)
	h := r.addHub(nil, nil)
	r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	if err := js.DeleteStream(ctx, Stream); err != nil {
		t.Fatal(err)
	}
	return h, js, ctx
}

// readyTo is a patient's READY to doctor, as sent and as decoded.
func readyTo(t *testing.T, doctor string) ([]byte, *uhiclient.Inbound) {
	t.Helper()
	body := patientReady(t, doctor, "http://p/api/v1")
	in, err := uhiclient.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	return body, in
}
