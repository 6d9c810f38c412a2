package callwire

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pion/webrtc/v4"

	"teleconsole/call"
	"teleconsole/uhiclient"
)

func ptr[T any](v T) *T { return &v }

func TestRoundTripEveryKind(t *testing.T) {
	cases := []call.Signal{
		{Kind: call.SignalOffer, Description: &webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}},
		{Kind: call.SignalAnswer, Description: &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"}},
		{Kind: call.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", SDPMid: ptr("0"), SDPMLineIndex: ptr(uint16(0))}},
		{Kind: call.SignalBye},
	}
	for _, in := range cases {
		t.Run(in.Kind.String(), func(t *testing.T) {
			wire, err := ToWire(in, "doc@hpr.ndhm-pat@sbx")
			if err != nil {
				t.Fatal(err)
			}
			if wire.SessionID != "doc@hpr.ndhm-pat@sbx" {
				t.Errorf("session id %q not carried", wire.SessionID)
			}
			if in.Kind == call.SignalOffer && wire.Media != "video" {
				t.Errorf("OFFER media = %q, want video (docs/protocol.md §3)", wire.Media)
			}
			out, err := FromWire(&wire)
			if err != nil {
				t.Fatal(err)
			}
			if out.Kind != in.Kind {
				t.Fatalf("kind %v came back as %v", in.Kind, out.Kind)
			}
			switch in.Kind {
			case call.SignalOffer, call.SignalAnswer:
				if *out.Description != *in.Description {
					t.Errorf("description %+v came back as %+v", *in.Description, *out.Description)
				}
			case call.SignalCandidate:
				if out.Candidate.Candidate != in.Candidate.Candidate || *out.Candidate.SDPMid != "0" || *out.Candidate.SDPMLineIndex != 0 {
					t.Errorf("candidate %+v came back as %+v", *in.Candidate, *out.Candidate)
				}
			}
		})
	}
}

func TestFromWireRejects(t *testing.T) {
	cases := map[string]uhiclient.Signal{
		"ready":             {Type: uhiclient.SignalReady},
		"ack":               {Type: uhiclient.SignalAck},
		"offer without sdp": {Type: uhiclient.SignalOffer, Description: &uhiclient.SessionDescription{Type: "offer"}},
		"answer with none":  {Type: uhiclient.SignalAnswer},
		"empty candidate":   {Type: uhiclient.SignalCandidate, Candidate: &uhiclient.ICECandidate{}},
	}
	for name, sig := range cases {
		if _, err := FromWire(&sig); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := FromWire(&uhiclient.Signal{Type: uhiclient.SignalReady}); !errors.Is(err, ErrNotCallSignal) {
		t.Errorf("READY gave %v, want ErrNotCallSignal", err)
	}
}

// TestSendPostsDecodableEnvelope checks the whole path: a call signal sent
// through a Peer arrives as an on_message body that decodes to the same
// signal, addressed to the patient, with the patient app's "from":"" quirk
// when asked for.
func TestSendPostsDecodableEnvelope(t *testing.T) {
	for _, emptyFrom := range []bool{false, true} {
		bodies := make(chan []byte, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/on_message" {
				t.Errorf("posted to %s", r.URL.Path)
			}
			b, _ := io.ReadAll(r.Body)
			bodies <- b
			_, _ = io.WriteString(w, `{"message":{"ack":{"status":"ACK"}}}`)
		}))
		client, err := uhiclient.NewClient()
		if err != nil {
			t.Fatal(err)
		}
		b, err := uhiclient.NewBuilder(uhiclient.Identity{
			Self: uhiclient.Person{Cred: "pat@sbx"}, Peer: uhiclient.Person{Cred: "doc@hpr.ndhm"},
			ProviderURI: srv.URL + "/api/v1", TransactionID: "tx-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		var opts []Option
		if emptyFrom {
			opts = append(opts, WithEmptyFrom())
		}
		p := New(client, b, srv.URL+"/api/v1", "doc@hpr.ndhm-pat@sbx", opts...)
		ans := call.Signal{Kind: call.SignalAnswer, Description: &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"}}
		if err := p.Send(context.Background(), ans); err != nil {
			t.Fatal(err)
		}
		body := <-bodies
		srv.Close()
		in, err := uhiclient.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		if in.Sender != "pat@sbx" || in.Receiver != "doc@hpr.ndhm" || in.TransactionID != "tx-1" {
			t.Errorf("sender %q receiver %q transaction %q", in.Sender, in.Receiver, in.TransactionID)
		}
		if in.Signal == nil || in.Signal.Type != uhiclient.SignalAnswer || in.Signal.Description.SDP != "v=0\r\n" {
			t.Fatalf("decoded %+v", in.Signal)
		}
		if got := in.Signal.From; (got == "") != emptyFrom {
			t.Errorf("emptyFrom=%v: data.from = %q", emptyFrom, got)
		}
		if in.Signal.To != "doc@hpr.ndhm" {
			t.Errorf("data.to = %q", in.Signal.To)
		}
		if in.Signal.SessionID != "doc@hpr.ndhm-pat@sbx" {
			t.Errorf("session_id = %q", in.Signal.SessionID)
		}
	}
}
