package uhiclient

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestBuilderFillsEveryField(t *testing.T) {
	b := newTestBuilder(t, doctorIdentity())
	env, err := b.Offer(SessionID(doctorAddr, patientAddr), chromeSDP("offer"))
	if err != nil {
		t.Fatal(err)
	}
	c := env.Context
	for name, got := range map[string]string{
		"domain": c.Domain, "country": c.Country, "city": c.City, "action": c.Action, "core_version": c.CoreVersion,
		"consumer_id": c.ConsumerID, "consumer_uri": c.ConsumerURI, "provider_id": c.ProviderID,
		"provider_uri": c.ProviderURI, "transaction_id": c.TransactionID, "message_id": c.MessageID, "timestamp": c.Timestamp,
	} {
		if got == "" {
			t.Errorf("context.%s is empty", name)
		}
	}
	if c.Action != "on_message" || c.TransactionID != txnID {
		t.Errorf("action %q transaction %q", c.Action, c.TransactionID)
	}
	if c.Timestamp != "2022-10-20T05:55:40.260138Z" {
		t.Errorf("context.timestamp = %q", c.Timestamp)
	}
	chat := env.Message.Intent.Chat
	if chat.Time.Timestamp != "2022-10-20T11:25:40" {
		t.Errorf("chat.time.timestamp = %q, want local IST time as the seed shows", chat.Time.Timestamp)
	}
	if chat.Content.ContentID != c.MessageID {
		t.Errorf("content_id %q != message_id %q", chat.Content.ContentID, c.MessageID)
	}
	if chat.Content.ContentType != ContentTypeSignalling {
		t.Errorf("content_type = %q", chat.Content.ContentType)
	}
	for who, p := range map[string]Person{"sender": chat.Sender.Person, "receiver": chat.Receiver.Person} {
		if p.Cred == "" || p.Cred != p.ID {
			t.Errorf("%s cred %q id %q: want both, equal", who, p.Cred, p.ID)
		}
	}

	raw := mustMarshal(t, env)
	// content_value must be a JSON string holding JSON, marshalled once.
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	cv, ok := at(generic, "message.intent.chat.content")["content_value"].(string)
	if !ok {
		t.Fatalf("content_value is not a string on the wire")
	}
	var inner struct {
		Type   string `json:"type"`
		Sender string `json:"sender"`
		Data   struct {
			To          string `json:"to"`
			From        string `json:"from"`
			SessionID   string `json:"session_id"`
			Media       string `json:"media"`
			Description struct {
				SDP  string `json:"sdp"`
				Type string `json:"type"`
			} `json:"description"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(cv), &inner); err != nil {
		t.Fatalf("content_value does not hold JSON: %v", err)
	}
	if inner.Type != "OFFER" || inner.Sender != doctorAddr || inner.Data.To != patientAddr || inner.Data.From != doctorAddr ||
		inner.Data.SessionID != doctorAddr+"-"+patientAddr || inner.Data.Media != "video" ||
		inner.Data.Description.Type != "offer" || inner.Data.Description.SDP != chromeSDP("offer") {
		t.Errorf("inner OFFER = %+v", inner)
	}
	if strings.Contains(string(raw), `content_url":null`) == false {
		t.Errorf("content_url should be written as null: %s", raw[len(raw)-200:])
	}
}

func TestBuilderNewMessageIDs(t *testing.T) {
	b, err := NewBuilder(doctorIdentity())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 100 {
		env, err := b.Ack()
		if err != nil {
			t.Fatal(err)
		}
		id := env.Context.MessageID
		if len(id) != 36 || seen[id] {
			t.Fatalf("message id %q is not a fresh uuid", id)
		}
		seen[id] = true
	}
}

func TestBuilderRejects(t *testing.T) {
	id := doctorIdentity()
	id.TransactionID = ""
	if _, err := NewBuilder(id); !errors.Is(err, ErrBadOption) {
		t.Errorf("no transaction id: %v", err)
	}
	id = doctorIdentity()
	id.Peer.Cred = ""
	if _, err := NewBuilder(id); !errors.Is(err, ErrBadOption) {
		t.Errorf("no peer address: %v", err)
	}
	b := newTestBuilder(t, doctorIdentity())
	if _, err := b.Offer("sid", ""); !errors.Is(err, ErrBadSignal) {
		t.Errorf("offer without sdp: %v", err)
	}
	if _, err := b.Candidate("", ICECandidate{Candidate: "candidate:1"}); !errors.Is(err, ErrBadSignal) {
		t.Errorf("candidate without session: %v", err)
	}
	if _, err := b.Build(Signal{}); !errors.Is(err, ErrBadSignal) {
		t.Errorf("unknown type: %v", err)
	}
}

// Every constructor's output decodes back to the same signal, from both sides.
func TestRoundTripAllSignals(t *testing.T) {
	sid := SessionID(doctorAddr, patientAddr)
	mid, idx := "0", uint16(0)
	cand := ICECandidate{Candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag d4a/ network-cost 999", SDPMid: &mid, SDPMLineIndex: &idx}
	doc := newTestBuilder(t, doctorIdentity())
	pat := newTestBuilder(t, patientIdentity())
	cases := []struct {
		name   string
		build  func() (*Envelope, error)
		sender string
		want   Signal
	}{
		{"READY", pat.Ready, patientAddr, Signal{Type: SignalReady, Sender: patientAddr, To: doctorAddr, From: patientAddr}},
		{"ACK", doc.Ack, doctorAddr, Signal{Type: SignalAck, Sender: doctorAddr, To: patientAddr, From: doctorAddr}},
		{"OFFER", func() (*Envelope, error) { return doc.Offer(sid, chromeSDP("offer")) }, doctorAddr,
			Signal{Type: SignalOffer, Sender: doctorAddr, To: patientAddr, From: doctorAddr, SessionID: sid, Media: "video",
				Description: &SessionDescription{Type: "offer", SDP: chromeSDP("offer")}}},
		{"ANSWER", func() (*Envelope, error) { return pat.Answer(sid, chromeSDP("answer")) }, patientAddr,
			Signal{Type: SignalAnswer, Sender: patientAddr, To: doctorAddr, From: patientAddr, SessionID: sid,
				Description: &SessionDescription{Type: "answer", SDP: chromeSDP("answer")}}},
		{"CANDIDATE", func() (*Envelope, error) { return doc.Candidate(sid, cand) }, doctorAddr,
			Signal{Type: SignalCandidate, Sender: doctorAddr, To: patientAddr, From: doctorAddr, SessionID: sid, Candidate: &cand}},
		{"BYE", func() (*Envelope, error) { return pat.Bye(sid) }, patientAddr,
			Signal{Type: SignalBye, Sender: patientAddr, From: patientAddr, SessionID: sid}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			in, err := Decode(mustMarshal(t, env))
			if err != nil {
				t.Fatal(err)
			}
			if in.Sender != tc.sender || in.Signal == nil || in.Chat != nil {
				t.Fatalf("sender %q signal %v chat %v", in.Sender, in.Signal, in.Chat)
			}
			assertSignal(t, in.Signal, &tc.want)
			if in.MessageID != env.Context.MessageID || in.TransactionID != txnID {
				t.Errorf("ids %q %q", in.MessageID, in.TransactionID)
			}
		})
	}
}

func assertSignal(t *testing.T, got, want *Signal) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("signal\n got %s\nwant %s", g, w)
	}
}

func TestTextChat(t *testing.T) {
	b := newTestBuilder(t, patientIdentity())
	in, err := Decode(mustMarshal(t, b.Text("Doctor, I am <ready> & waiting")))
	if err != nil {
		t.Fatal(err)
	}
	if in.Signal != nil || in.Chat == nil || in.Chat.Value != "Doctor, I am <ready> & waiting" || in.Chat.ContentType != "text" {
		t.Fatalf("chat = %+v signal = %+v", in.Chat, in.Signal)
	}
}

func TestSignalTypeString(t *testing.T) {
	for i, n := range []string{"UNKNOWN", "READY", "ACK", "OFFER", "ANSWER", "CANDIDATE", "BYE"} {
		if got := SignalType(i).String(); got != n {
			t.Errorf("%d: %s", i, got)
		}
		if i > 0 && ParseSignalType(strings.ToLower(n)) != SignalType(i) {
			t.Errorf("parse %s", n)
		}
	}
	if SignalType(99).String() != "UNKNOWN" || ParseSignalType("HELLO") != SignalUnknown {
		t.Error("unknown handling")
	}
}
