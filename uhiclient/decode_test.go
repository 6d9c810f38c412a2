package uhiclient

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func offerBody(t testing.TB) []byte {
	t.Helper()
	env, err := newTestBuilder(t, doctorIdentity()).Offer(SessionID(doctorAddr, patientAddr), chromeSDP("offer"))
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, env)
}

func answerBody(t testing.TB) []byte {
	t.Helper()
	env, err := newTestBuilder(t, patientIdentity()).Answer(SessionID(doctorAddr, patientAddr), chromeSDP("answer"))
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, env)
}

func candidateBody(t testing.TB) []byte {
	t.Helper()
	mid, idx := "0", uint16(0)
	env, err := newTestBuilder(t, patientIdentity()).Candidate(SessionID(doctorAddr, patientAddr),
		ICECandidate{Candidate: "candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host", SDPMid: &mid, SDPMLineIndex: &idx})
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(t, env)
}

// seedAnswer is the seed's ANSWER as the reference EUA app sends it (docs/protocol.md
// §2, §3): cred only, "from":"", hard-coded consumer_uri, content_fileName and
// content_filePath nulls, provider_id missing, spaces after colons inside
// content_value, and content and time beside chat instead of inside it.
func seedAnswer() string {
	inner := `{"type":"ANSWER","data":{"to":"ganeshborse@hpr.ndhm","from":"","description":{"sdp":` +
		mustJSON(chromeSDP("answer")) + `,"type": "answer"},"session_id": "ganeshborse@hpr.ndhm-manishkahane1992@sbx"}, "sender": "manishkahane1992@sbx"}`
	return `{
  "context": {
    "domain": "nic2004:85111", "country": "IND", "city": "std:080", "action": "on_message",
    "core_version": "0.7.1", "consumer_id": "eua-nha",
    "consumer_uri": "http://100.65.158.41:8901/api/v1/euaService",
    "message_id": "b1826a00-503b-11ed-bd03-0512d728e7dc",
    "timestamp": "2022-10-20T05:54:42.976915Z",
    "provider_uri": "https://hspasbx.abdm.gov.in/api/v1",
    "transaction_id": "642d5a60-4fa7-11ed-a230-c795d92f1fb3"
  },
  "message": { "intent": {
      "chat": {
        "sender": { "person": { "name": "Manish Pravin Kahane", "image": "sender base 64 encoded image", "cred": "manishkahane1992@sbx", "gender": "M" } },
        "receiver": { "person": { "name": "ganeshborse@hpr.ndhm - Ganesh Vikram Borse", "image": "image", "cred": "ganeshborse@hpr.ndhm", "gender": "M" } }
      },
      "content": {
        "content_id": "b1826a00-503b-11ed-bd03-0512d728e7dc",
        "content_value": ` + mustJSON(inner) + `,
        "content_type": "video_call_signalling",
        "content_url": null, "content_fileName": null, "content_filePath": null
      },
      "time": { "timestamp": "2022-10-20T11:24:42" }
  } }
}`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Every variant of docs/protocol.md §2 and §3 must be accepted.
func TestDecodeAcceptsVariants(t *testing.T) {
	bigImage := base64.StdEncoding.EncodeToString(make([]byte, 1100<<10)) // ~1.5 MiB of base64
	cases := []struct {
		name  string
		body  func(t *testing.T) []byte
		check func(t *testing.T, in *Inbound)
	}{
		{"seed ANSWER from the reference EUA", func(*testing.T) []byte { return []byte(seedAnswer()) }, func(t *testing.T, in *Inbound) {
			s := in.Signal
			if s.Type != SignalAnswer || s.From != "" || in.Sender != patientAddr || in.Receiver != doctorAddr ||
				s.SessionID != doctorAddr+"-"+patientAddr || s.Description.SDP != chromeSDP("answer") || s.Description.Type != "answer" {
				t.Errorf("got %+v sender %q", s, in.Sender)
			}
			if in.MessageID != "b1826a00-503b-11ed-bd03-0512d728e7dc" || in.Envelope.Message.Intent.Chat.Time.Timestamp != "2022-10-20T11:24:42" {
				t.Errorf("message id %q time %q", in.MessageID, in.Envelope.Message.Intent.Chat.Time.Timestamp)
			}
		}},
		{"id instead of cred", func(t *testing.T) []byte {
			return patch(t, offerBody(t), func(m map[string]any) {
				for _, who := range []string{"sender", "receiver"} {
					p := at(m, "message.intent.chat."+who+".person")
					delete(p, "cred")
				}
			})
		}, func(t *testing.T, in *Inbound) {
			if in.Receiver != patientAddr || in.Sender != doctorAddr {
				t.Errorf("receiver %q sender %q", in.Receiver, in.Sender)
			}
		}},
		{"no wrapper sender: outer cred identifies", func(t *testing.T) []byte {
			return patchValue(t, answerBody(t), func(v map[string]any) { delete(v, "sender"); at(v, "data")["from"] = "" })
		}, func(t *testing.T, in *Inbound) {
			if in.Sender != patientAddr {
				t.Errorf("sender %q", in.Sender)
			}
		}},
		{"content_value as an object", func(t *testing.T) []byte {
			return patch(t, offerBody(t), func(m map[string]any) {
				c := at(m, "message.intent.chat.content")
				var v any
				_ = json.Unmarshal([]byte(c["content_value"].(string)), &v)
				c["content_value"] = v
			})
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Type != SignalOffer || in.Signal.Description.SDP != chromeSDP("offer") {
				t.Errorf("%+v", in.Signal)
			}
		}},
		{"READY with data true, unknown fields everywhere", func(*testing.T) []byte {
			return []byte(`{"context":{"action":"on_message","transaction_id":"t1","message_id":"m1","dayOfBirth":"1","provider_id":"x"},
			"extra":{"a":[1,2,3]},
			"message":{"intent":{"chat":{"sender":{"person":{"cred":"p@sbx","yearOfBirth":1992}},"receiver":{"person":{"id":"d@hpr.ndhm"}},
			"content":{"content_id":"m1","content_value":"{\"type\":\"READY\",\"data\":true,\"sender\":\"p@sbx\",\"x\":1}","content_type":"video_call_signalling","content_filename":"a","content_mimetype":"b"}}}}}`)
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Type != SignalReady || in.Sender != "p@sbx" || in.Receiver != "d@hpr.ndhm" {
				t.Errorf("%+v", in)
			}
		}},
		{"nulls dropped or explicit", func(*testing.T) []byte {
			return []byte(`{"context":{"action":"on_message","transaction_id":"t1","message_id":null,"consumer_uri":null},
			"message":{"intent":{"chat":{"sender":{"person":{"cred":null,"id":"p@sbx","name":null,"image":null}},"receiver":{"person":{"cred":"d@hpr.ndhm"}},
			"content":{"content_id":"c1","content_value":"{\"type\":\"BYE\",\"data\":{\"session_id\":null,\"from\":null},\"sender\":null}","content_type":"video_call_signalling","content_url":null},"time":null}}}}`)
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Type != SignalBye || in.Sender != "p@sbx" || in.MessageID != "c1" {
				t.Errorf("%+v %q", in.Signal, in.MessageID)
			}
		}},
		{"escaped <>& and raw <>&", func(t *testing.T) []byte {
			b := patch(t, offerBody(t), func(m map[string]any) {
				at(m, "message.intent.chat.sender.person")["name"] = "Dr <Ganesh> & co"
			})
			if !strings.Contains(string(b), `\u003cGanesh\u003e \u0026`) {
				t.Fatal("encoding/json should have escaped")
			}
			return b
		}, func(t *testing.T, in *Inbound) {
			if n := in.Envelope.Message.Intent.Chat.Sender.Person.Name; n != "Dr <Ganesh> & co" {
				t.Errorf("name %q", n)
			}
		}},
		{"1.5 MiB base64 photo", func(t *testing.T) []byte {
			return patch(t, answerBody(t), func(m map[string]any) { at(m, "message.intent.chat.sender.person")["image"] = bigImage })
		}, func(t *testing.T, in *Inbound) {
			if len(in.Envelope.Message.Intent.Chat.Sender.Person.Image) != len(bigImage) {
				t.Error("image lost")
			}
		}},
		{"candidate with string index and null mid", func(t *testing.T) []byte {
			return patchValue(t, candidateBody(t), func(v map[string]any) {
				c := at(v, "data.candidate")
				c["sdpMLineIndex"] = "1"
				c["sdpMid"] = nil
			})
		}, func(t *testing.T, in *Inbound) {
			c := in.Signal.Candidate
			if c.SDPMid != nil || c.SDPMLineIndex == nil || *c.SDPMLineIndex != 1 {
				t.Errorf("%+v", c)
			}
		}},
		{"end-of-candidates (empty candidate)", func(t *testing.T) []byte {
			return patchValue(t, candidateBody(t), func(v map[string]any) { at(v, "data.candidate")["candidate"] = "" })
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Candidate.Candidate != "" {
				t.Error("want empty candidate")
			}
		}},
		{"description as bare SDP string (seed prose)", func(t *testing.T) []byte {
			return patchValue(t, offerBody(t), func(v map[string]any) { at(v, "data")["description"] = chromeSDP("offer") })
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Description.Type != "offer" || in.Signal.Description.SDP != chromeSDP("offer") {
				t.Errorf("%+v", in.Signal.Description)
			}
		}},
		{"lower-case type, action message", func(t *testing.T) []byte {
			b := patchValue(t, offerBody(t), func(v map[string]any) { v["type"] = "offer" })
			return patch(t, b, func(m map[string]any) { at(m, "context")["action"] = "message" })
		}, func(t *testing.T, in *Inbound) {
			if in.Signal.Type != SignalOffer {
				t.Error(in.Signal.Type)
			}
		}},
		{"media chat", func(*testing.T) []byte {
			return []byte(`{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"cred":"p@sbx"}},"receiver":{"person":{"cred":"d@hpr.ndhm"}},"content":{"content_value":"report.pdf","content_type":"media","content_url":"https://x/y.pdf"}}}}}`)
		}, func(t *testing.T, in *Inbound) {
			if in.Signal != nil || in.Chat == nil || in.Chat.URL != "https://x/y.pdf" || in.Chat.ContentType != "media" {
				t.Errorf("%+v", in.Chat)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Decode(tc.body(t))
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			tc.check(t, in)
		})
	}
}

// One row per broken field, each with its sentinel and path.
func TestDecodeRejects(t *testing.T) {
	const cv = "message.intent.chat.content.content_value"
	offer := func(t *testing.T) []byte { return offerBody(t) }
	answerBody := func(t *testing.T) []byte { return answerBody(t) }
	candidateBody := func(t *testing.T) []byte { return candidateBody(t) }
	edit := func(base func(*testing.T) []byte, f func(m map[string]any)) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return patch(t, base(t), f) }
	}
	editValue := func(base func(*testing.T) []byte, f func(v map[string]any)) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return patchValue(t, base(t), f) }
	}
	raw := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	cases := []struct {
		name string
		body func(*testing.T) []byte
		err  error
		path string
	}{
		{"empty body", raw(""), ErrMalformedJSON, "body"},
		{"not JSON", raw(`{"context":`), ErrMalformedJSON, "body"},
		{"trailing garbage", raw(`{"context":{}} x`), ErrMalformedJSON, "body"},
		{"array body", raw(`[]`), ErrInvalidField, "body"},
		{"null body", raw(`null`), ErrMissingField, "context"},
		{"no context", edit(offer, func(m map[string]any) { delete(m, "context") }), ErrMissingField, "context"},
		{"context is a string", edit(offer, func(m map[string]any) { m["context"] = "x" }), ErrInvalidField, "context"},
		{"wrong action", edit(offer, func(m map[string]any) { at(m, "context")["action"] = "search" }), ErrInvalidField, "context.action"},
		{"no transaction_id", edit(offer, func(m map[string]any) { delete(at(m, "context"), "transaction_id") }), ErrMissingField, "context.transaction_id"},
		{"transaction_id a number", edit(offer, func(m map[string]any) { at(m, "context")["transaction_id"] = 5 }), ErrInvalidField, "context.transaction_id"},
		{"consumer_uri not a URL", edit(offer, func(m map[string]any) { at(m, "context")["consumer_uri"] = "ftp://x" }), ErrInvalidField, "context.consumer_uri"},
		{"no message_id nor content_id", edit(offer, func(m map[string]any) {
			delete(at(m, "context"), "message_id")
			delete(at(m, "message.intent.chat.content"), "content_id")
		}), ErrMissingField, "context.message_id"},
		{"no receiver", edit(offer, func(m map[string]any) { delete(at(m, "message.intent.chat"), "receiver") }), ErrMissingField, "message.intent.chat.receiver.person.cred"},
		{"receiver cred a number", edit(offer, func(m map[string]any) { at(m, "message.intent.chat.receiver.person")["cred"] = 1 }), ErrInvalidField, "message.intent.chat.receiver.person.cred"},
		{"no sender anywhere", editValue(func(t *testing.T) []byte {
			return patch(t, offerBody(t), func(m map[string]any) { delete(at(m, "message.intent.chat"), "sender") })
		}, func(v map[string]any) { delete(v, "sender") }), ErrMissingField, "message.intent.chat.sender.person.cred"},
		{"wrapper sender is someone else", editValue(offer, func(v map[string]any) { v["sender"] = "intruder@sbx" }), ErrInvalidField, cv + ".sender"},
		{"no content_type", edit(offer, func(m map[string]any) { delete(at(m, "message.intent.chat.content"), "content_type") }), ErrMissingField, "message.intent.chat.content.content_type"},
		{"content_value missing", edit(offer, func(m map[string]any) { delete(at(m, "message.intent.chat.content"), "content_value") }), ErrMissingField, cv},
		{"content_value a number", edit(offer, func(m map[string]any) { at(m, "message.intent.chat.content")["content_value"] = 7 }), ErrInvalidField, cv},
		{"content_value not JSON", edit(offer, func(m map[string]any) {
			at(m, "message.intent.chat.content")["content_value"] = "{\"type\":\"OFFER\",\"data\":{\"sdp\":{\"v=0"
		}), ErrMalformedJSON, cv},
		{"content_value plain text", edit(offer, func(m map[string]any) { at(m, "message.intent.chat.content")["content_value"] = "hello" }), ErrMalformedJSON, cv},
		{"no type", editValue(offer, func(v map[string]any) { delete(v, "type") }), ErrMissingField, cv + ".type"},
		{"unknown type", editValue(offer, func(v map[string]any) { v["type"] = "HELLO" }), ErrInvalidField, cv + ".type"},
		{"type an object", editValue(offer, func(v map[string]any) { v["type"] = map[string]any{} }), ErrInvalidField, cv + ".type"},
		{"OFFER without data", editValue(offer, func(v map[string]any) { delete(v, "data") }), ErrMissingField, cv + ".data"},
		{"OFFER with data true", editValue(offer, func(v map[string]any) { v["data"] = true }), ErrInvalidField, cv + ".data"},
		{"OFFER without description", editValue(offer, func(v map[string]any) { delete(at(v, "data"), "description") }), ErrMissingField, cv + ".data.description"},
		{"OFFER description a number", editValue(offer, func(v map[string]any) { at(v, "data")["description"] = 3 }), ErrInvalidField, cv + ".data.description"},
		{"OFFER without sdp", editValue(offer, func(v map[string]any) { delete(at(v, "data.description"), "sdp") }), ErrMissingField, cv + ".data.description.sdp"},
		{"OFFER sdp an object (damaged seed)", editValue(offer, func(v map[string]any) { at(v, "data.description")["sdp"] = map[string]any{"v=0": 1} }), ErrInvalidField, cv + ".data.description.sdp"},
		{"OFFER sdp not SDP", editValue(offer, func(v map[string]any) { at(v, "data.description")["sdp"] = "hello" }), ErrInvalidField, cv + ".data.description.sdp"},
		{"OFFER carrying an answer", editValue(offer, func(v map[string]any) { at(v, "data.description")["type"] = "answer" }), ErrInvalidField, cv + ".data.description.type"},
		{"OFFER without session_id", editValue(offer, func(v map[string]any) { delete(at(v, "data"), "session_id") }), ErrMissingField, cv + ".data.session_id"},
		{"OFFER to an object", editValue(offer, func(v map[string]any) { at(v, "data")["to"] = map[string]any{} }), ErrInvalidField, cv + ".data.to"},
		{"ANSWER without session_id", editValue(answerBody, func(v map[string]any) { at(v, "data")["session_id"] = "" }), ErrMissingField, cv + ".data.session_id"},
		{"CANDIDATE without candidate", editValue(candidateBody, func(v map[string]any) { delete(at(v, "data"), "candidate") }), ErrMissingField, cv + ".data.candidate"},
		{"CANDIDATE candidate a string", editValue(candidateBody, func(v map[string]any) { at(v, "data")["candidate"] = "candidate:1" }), ErrInvalidField, cv + ".data.candidate"},
		{"CANDIDATE without candidate line", editValue(candidateBody, func(v map[string]any) { delete(at(v, "data.candidate"), "candidate") }), ErrMissingField, cv + ".data.candidate.candidate"},
		{"CANDIDATE line garbage", editValue(candidateBody, func(v map[string]any) { at(v, "data.candidate")["candidate"] = "hello" }), ErrInvalidField, cv + ".data.candidate.candidate"},
		{"CANDIDATE index negative", editValue(candidateBody, func(v map[string]any) { at(v, "data.candidate")["sdpMLineIndex"] = -1 }), ErrInvalidField, cv + ".data.candidate.sdpMLineIndex"},
		{"CANDIDATE index too big", editValue(candidateBody, func(v map[string]any) { at(v, "data.candidate")["sdpMLineIndex"] = 70000 }), ErrInvalidField, cv + ".data.candidate.sdpMLineIndex"},
		{"CANDIDATE no mid nor index", editValue(candidateBody, func(v map[string]any) {
			c := at(v, "data.candidate")
			delete(c, "sdpMid")
			delete(c, "sdpMLineIndex")
		}), ErrMissingField, cv + ".data.candidate.sdpMid"},
		{"CANDIDATE without session_id", editValue(candidateBody, func(v map[string]any) { delete(at(v, "data"), "session_id") }), ErrMissingField, cv + ".data.session_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Decode(tc.body(t))
			if err == nil {
				t.Fatalf("accepted: %+v", in.Signal)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err %T is not a *FieldError", err)
			}
			if fe.Path != tc.path {
				t.Errorf("path = %q, want %q (err %v)", fe.Path, tc.path, err)
			}
			if fe.Reason == "" || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name path and reason", err)
			}
		})
	}
}

// Small seeds, so the fuzzer mutates structure rather than SDP text: an OFFER
// and a seed-style ANSWER (content beside chat, description as a string).
const (
	smallOffer  = `{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"cred":"d"}},"receiver":{"person":{"cred":"p"}},"content":{"content_value":"{\"type\":\"OFFER\",\"data\":{\"to\":\"p\",\"from\":\"d\",\"description\":{\"sdp\":\"v=0\\r\\n\",\"type\":\"offer\"},\"session_id\":\"d-p\",\"media\":\"video\"},\"sender\":\"d\"}","content_type":"video_call_signalling"}}}}}`
	smallAnswer = `{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"cred":"p"}},"receiver":{"person":{"id":"d"}}},"content":{"content_value":"{\"type\":\"ANSWER\",\"data\":{\"from\":\"\",\"description\":\"v=0\",\"session_id\":\"d-p\"}}","content_type":"video_call_signalling"}}}}`
)

func TestSmallSeedsDecode(t *testing.T) {
	for _, b := range []string{smallOffer, smallAnswer} {
		in, err := Decode([]byte(b))
		if err != nil || in.Signal == nil || in.Signal.Description == nil || in.Signal.Description.SDP == "" {
			t.Fatalf("seed does not decode: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(seedAnswer()))
	f.Add(offerBody(f))
	f.Add(answerBody(f))
	f.Add(candidateBody(f))
	f.Add([]byte(`{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"id":"p"}},"receiver":{"person":{"cred":"d"}},"content":{"content_value":{"type":"READY","data":true},"content_type":"video_call_signalling"}}}}}`))
	f.Add([]byte(`{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"id":"p"}},"receiver":{"person":{"cred":"d"}},"content":{"content_value":"{\"type\":\"BYE\",\"data\":{\"session_id\":\"a-b\",\"from\":\"\"}}","content_type":"video_call_signalling"}}}}}`))
	f.Add([]byte(`{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"id":"p"}},"receiver":{"person":{"cred":"d"}},"content":{"content_value":"hi \u003c\u0026\u003e","content_type":"text"}}}}}`))
	f.Add([]byte(`{"context":{"transaction_id":"t","message_id":"m"},"message":{"intent":{"chat":{"sender":{"person":{"id":"p"}},"receiver":{"person":{"cred":"d"}},"content":{"content_value":"{\"type\":\"CANDIDATE\",\"data\":{\"session_id\":\"s\",\"candidate\":{\"candidate\":\"candidate:1\",\"sdpMLineIndex\":\"0\",\"sdpMid\":0}}}","content_type":"video_call_signalling"}}}}}`))
	f.Add([]byte(smallOffer))
	f.Add([]byte(smallAnswer))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"context":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := Decode(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path == "" {
				t.Fatalf("error without field path: %v", err)
			}
			if !errors.Is(err, ErrMalformedJSON) && !errors.Is(err, ErrMissingField) && !errors.Is(err, ErrInvalidField) {
				t.Fatalf("error of unknown kind: %v", err)
			}
			return
		}
		// Invariants of an accepted message.
		if in.MessageID == "" || in.TransactionID == "" || in.Sender == "" || in.Receiver == "" {
			t.Fatalf("accepted with empty routing: %+v", in)
		}
		if (in.Signal == nil) == (in.Chat == nil) {
			t.Fatalf("want exactly one of Signal and Chat")
		}
		if s := in.Signal; s != nil {
			if s.Type == SignalUnknown {
				t.Fatal("accepted unknown type")
			}
			if (s.Type == SignalOffer || s.Type == SignalAnswer) && (s.Description == nil || s.Description.SDP == "" || s.SessionID == "") {
				t.Fatalf("accepted %s without sdp/session", s.Type)
			}
			if s.Type == SignalCandidate && (s.Candidate == nil || s.SessionID == "") {
				t.Fatal("accepted CANDIDATE without candidate")
			}
			// What we accept, we can send again and read back the same.
			b, err := NewBuilder(Identity{Self: Person{Cred: in.Sender}, Peer: Person{Cred: in.Receiver}, TransactionID: in.TransactionID})
			if err != nil {
				t.Fatal(err)
			}
			env, err := b.BuildRaw(*s)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", s, err)
			}
			raw, err := Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(raw)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, raw)
			}
			if again.Signal.Type != s.Type || again.Signal.SessionID != s.SessionID {
				t.Fatalf("round trip changed %+v into %+v", s, again.Signal)
			}
		}
	})
}
