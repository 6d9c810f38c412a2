package uhiclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Inbound is one decoded on_message request. Exactly one of Signal and Chat is
// set: signalling goes to the call machinery, chat (content_type "text",
// "media"...) is kept apart from it (docs/protocol.md §2).
type Inbound struct {
	// Envelope is the whole decoded envelope, for fields not lifted below
	// (names, photos, consumer_uri...). The Server clears photos over its
	// image limit (see WithMaxImage).
	Envelope Envelope
	// MessageID is context.message_id (or content_id when a peer left it out);
	// it is the de-duplication key (docs/protocol.md §3).
	MessageID string
	// TransactionID is context.transaction_id, the consultation's routing key.
	TransactionID string
	// Sender is the sender's address: the wrapper "sender" of a signalling
	// payload, else chat.sender.person.cred, else .id; never data.from (docs/protocol.md §3).
	Sender string
	// Receiver is chat.receiver.person.cred, else .id.
	Receiver string
	// Signal is the signalling payload when content_type is video_call_signalling.
	Signal *Signal
	// Chat is the chat payload for any other content_type.
	Chat *ChatMessage
	// KeyID is the verified signer's keyId, when the server checked a signature.
	KeyID string
	// ReceivedAt is when the server received the request (zero from Decode).
	ReceivedAt time.Time
}

// ChatMessage is a non-signalling chat payload (docs/protocol.md §2).
type ChatMessage struct {
	// ContentType is content_type as sent ("text", "media"...).
	ContentType string
	// Value is content_value.
	Value string
	// URL is content_url, or "".
	URL string
	// FileName is content_fileName (any case), for media.
	FileName string
	// MimeType is content_mimetype, for media, when given.
	MimeType string
}

// Field paths used in errors and NACKs.
const (
	pathBody          = "body"
	pathContext       = "context"
	pathChat          = "message.intent.chat"
	pathSenderCred    = pathChat + ".sender.person.cred"
	pathReceiverCred  = pathChat + ".receiver.person.cred"
	pathContentSuffix = ".content"
)

// Decode parses an on_message body (docs/protocol.md §2, §3). It accepts every variant
// docs/protocol.md §3 lists (cred or id, "from":"", unknown fields, nulls, content_value
// as string or object, data:true, escaped or raw <>&) and returns a
// *FieldError naming the broken field otherwise; errors.Is matches
// ErrMalformedJSON, ErrMissingField or ErrInvalidField.
func Decode(body []byte) (*Inbound, error) {
	in := &Inbound{}
	if err := json.Unmarshal(body, &in.Envelope); err != nil {
		return nil, jsonFieldError("", err)
	}
	env := &in.Envelope
	ctx := &env.Context
	if *ctx == (Context{}) {
		return nil, missing(pathContext)
	}
	if a := strings.TrimSpace(ctx.Action); a != "" && !strings.EqualFold(a, ActionOnMessage) && !strings.EqualFold(a, "message") {
		return nil, invalid("context.action", "is %q, want %q", a, ActionOnMessage)
	}
	in.TransactionID = strings.TrimSpace(ctx.TransactionID)
	if in.TransactionID == "" {
		return nil, missing("context.transaction_id")
	}
	if u := strings.TrimSpace(ctx.ConsumerURI); u != "" {
		if _, err := parsePeerURI(u); err != nil {
			return nil, invalid("context.consumer_uri", "%v", err)
		}
	}

	chat := &env.Message.Intent.Chat
	contentPath := pathChat + pathContentSuffix
	// One damaged seed example has content and time beside chat (docs/protocol.md §2
	// "seed quirks"); read them from there when chat has none.
	if chat.Content == (Content{}) && env.Message.Intent.Content != nil {
		chat.Content = *env.Message.Intent.Content
		contentPath = "message.intent.content"
	}
	if chat.Time == (ChatTime{}) && env.Message.Intent.Time != nil {
		chat.Time = *env.Message.Intent.Time
	}
	env.Message.Intent.Content, env.Message.Intent.Time = nil, nil
	content := &chat.Content

	in.MessageID = strings.TrimSpace(ctx.MessageID)
	if in.MessageID == "" {
		in.MessageID = strings.TrimSpace(content.ContentID)
	}
	if in.MessageID == "" {
		return nil, missing("context.message_id")
	}
	in.Receiver = chat.Receiver.Person.Address()
	if in.Receiver == "" {
		return nil, missing(pathReceiverCred)
	}
	ctype := strings.TrimSpace(content.ContentType)
	if ctype == "" {
		return nil, missing(contentPath + ".content_type")
	}

	if !strings.EqualFold(ctype, ContentTypeSignalling) {
		in.Sender = chat.Sender.Person.Address()
		if in.Sender == "" {
			return nil, missing(pathSenderCred)
		}
		in.Chat = &ChatMessage{ContentType: ctype, Value: string(content.ContentValue),
			FileName: strings.TrimSpace(content.ContentFileName), MimeType: strings.TrimSpace(content.ContentMimeType)}
		if content.ContentURL != nil {
			in.Chat.URL = *content.ContentURL
		}
		return in, nil
	}

	sig, err := decodeSignal([]byte(content.ContentValue), contentPath+".content_value")
	if err != nil {
		return nil, err
	}
	person := chat.Sender.Person
	switch {
	case sig.Sender != "" && person.Address() != "" && !person.Is(sig.Sender):
		return nil, invalid(contentPath+".content_value.sender", "%q is not the chat sender %q", sig.Sender, person.Address())
	case sig.Sender != "":
		in.Sender = sig.Sender
	default:
		in.Sender = person.Address()
	}
	if in.Sender == "" {
		return nil, missing(pathSenderCred)
	}
	in.Signal = sig
	return in, nil
}

// jsonFieldError turns an encoding/json error into a *FieldError under prefix.
func jsonFieldError(prefix string, err error) *FieldError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		p := prefix
		if p == "" {
			p = pathBody
		}
		return &FieldError{Path: p, Reason: fmt.Sprintf("not valid JSON at byte %d: %v", syn.Offset, syn), Err: ErrMalformedJSON}
	case errors.As(err, &typ):
		p := joinPath(prefix, typ.Field)
		if p == "" {
			p = pathBody
		}
		want := "another type"
		if typ.Type != nil {
			want = jsonKind(typ.Type.Kind().String())
		}
		return &FieldError{Path: p, Reason: fmt.Sprintf("is a JSON %s, want %s", typ.Value, want), Err: ErrInvalidField}
	default:
		p := prefix
		if p == "" {
			p = pathBody
		}
		return &FieldError{Path: p, Reason: err.Error(), Err: ErrMalformedJSON}
	}
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "uint16":
		return "an integer from 0 to 65535"
	default:
		return "a number"
	}
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	default:
		return prefix + "." + field
	}
}

// inData is data of any signalling type, decoded leniently.
type inData struct {
	To          flexString      `json:"to"`
	From        flexString      `json:"from"`
	SessionID   flexString      `json:"session_id"`
	Media       flexString      `json:"media"`
	Description json.RawMessage `json:"description"`
	Candidate   json.RawMessage `json:"candidate"`
}

type inCandidate struct {
	Candidate     *flexString `json:"candidate"`
	SDPMid        *flexString `json:"sdpMid"`
	SDPMLineIndex *flexIndex  `json:"sdpMLineIndex"`
}

// decodeSignal parses content_value's inner document (docs/protocol.md). The
// common, well-typed shape is read in one pass; anything else (data:true,
// a description given as a string, numbers where strings belong...) takes the
// lenient path, which also produces the precise errors. The one pass takes
// 17 to 22 µs and 24 allocations for the apps' OFFER, ANSWER and CANDIDATE,
// the lenient path 47 to 52 µs and 36 (BenchmarkDecodeSignal, 2026-12-01);
// FuzzDecodeSignalFastMatchesLenient holds the two to the same result.
func decodeSignal(raw []byte, path string) (*Signal, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, missing(path)
	}
	if raw[0] != '{' {
		return nil, &FieldError{Path: path, Reason: "is not a JSON object", Err: ErrMalformedJSON}
	}
	if sig, ok, err := decodeSignalFast(raw, path); ok {
		return sig, err
	}
	return decodeSignalLenient(raw, path)
}

// fastSignal is content_value in its usual typed shape.
type fastSignal struct {
	Type   string `json:"type"`
	Sender string `json:"sender"`
	Data   *struct {
		To          string `json:"to"`
		From        string `json:"from"`
		SessionID   string `json:"session_id"`
		Media       string `json:"media"`
		Description *struct {
			SDP  *string `json:"sdp"`
			Type *string `json:"type"`
		} `json:"description"`
		Candidate *struct {
			Candidate     *string `json:"candidate"`
			SDPMid        *string `json:"sdpMid"`
			SDPMLineIndex *uint16 `json:"sdpMLineIndex"`
		} `json:"candidate"`
	} `json:"data"`
}

// decodeSignalFast reports ok=false when raw is not in the typed shape.
func decodeSignalFast(raw []byte, path string) (*Signal, bool, error) {
	var f fastSignal
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, false, nil
	}
	t := ParseSignalType(f.Type)
	if t == SignalUnknown {
		return nil, false, nil
	}
	sig := &Signal{Type: t, Sender: strings.TrimSpace(f.Sender)}
	if t == SignalReady || t == SignalAck {
		return sig, true, nil
	}
	dpath := path + ".data"
	d := f.Data
	if d == nil {
		if t == SignalBye {
			return sig, true, nil
		}
		return nil, true, missing(dpath)
	}
	sig.To, sig.From = strings.TrimSpace(d.To), strings.TrimSpace(d.From)
	sig.SessionID, sig.Media = strings.TrimSpace(d.SessionID), strings.TrimSpace(d.Media)
	var err error
	switch t {
	case SignalOffer, SignalAnswer:
		if d.Description == nil {
			return nil, true, missing(dpath + ".description")
		}
		sdp := ""
		if d.Description.SDP != nil {
			sdp = *d.Description.SDP
		}
		sig.Description, err = finishDescription(sdp, d.Description.Type, t, dpath+".description")
	case SignalCandidate:
		c := d.Candidate
		if c == nil {
			return nil, true, missing(dpath + ".candidate")
		}
		sig.Candidate, err = finishCandidate(c.Candidate, c.SDPMid, c.SDPMLineIndex, dpath+".candidate")
	}
	if err != nil {
		return nil, true, err
	}
	return finishSignal(sig, dpath)
}

func finishSignal(sig *Signal, dpath string) (*Signal, bool, error) {
	if sig.SessionID == "" && sig.Type != SignalBye {
		return nil, true, missing(dpath + ".session_id")
	}
	return sig, true, nil
}

// decodeSignalLenient parses content_value layer by layer, accepting every
// variant and naming the broken field otherwise.
func decodeSignalLenient(raw []byte, path string) (*Signal, error) {
	var w struct {
		Type   *flexString     `json:"type"`
		Data   json.RawMessage `json:"data"`
		Sender flexString      `json:"sender"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, jsonFieldError(path, err)
	}
	if w.Type == nil || strings.TrimSpace(string(*w.Type)) == "" {
		return nil, missing(path + ".type")
	}
	sig := &Signal{Type: ParseSignalType(string(*w.Type)), Sender: strings.TrimSpace(string(w.Sender))}
	if sig.Type == SignalUnknown {
		return nil, invalid(path+".type", "unknown signalling type %q", string(*w.Type))
	}
	if sig.Type == SignalReady || sig.Type == SignalAck {
		return sig, nil // data is true; anything else is ignored
	}
	dpath := path + ".data"
	data := bytes.TrimSpace(w.Data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		if sig.Type == SignalBye {
			return sig, nil
		}
		return nil, missing(dpath)
	}
	if data[0] != '{' {
		if sig.Type == SignalBye {
			return sig, nil
		}
		return nil, invalid(dpath, "is not an object")
	}
	var d inData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, jsonFieldError(dpath, err)
	}
	sig.To = strings.TrimSpace(string(d.To))
	sig.From = strings.TrimSpace(string(d.From))
	sig.SessionID = strings.TrimSpace(string(d.SessionID))
	sig.Media = strings.TrimSpace(string(d.Media))
	switch sig.Type {
	case SignalOffer, SignalAnswer:
		desc, err := decodeDescription(d.Description, sig.Type, dpath+".description")
		if err != nil {
			return nil, err
		}
		sig.Description = desc
	case SignalCandidate:
		c, err := decodeCandidate(d.Candidate, dpath+".candidate")
		if err != nil {
			return nil, err
		}
		sig.Candidate = c
	}
	sig, _, err := finishSignal(sig, dpath)
	return sig, err
}

// decodeDescription accepts {"sdp":"...","type":"offer"} or, as the seed's
// prose shows, the SDP text itself as a string.
func decodeDescription(raw json.RawMessage, t SignalType, path string) (*SessionDescription, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, missing(path)
	}
	switch raw[0] {
	case '"':
		var sdp string
		if err := json.Unmarshal(raw, &sdp); err != nil {
			return nil, jsonFieldError(path, err)
		}
		return finishDescription(sdp, nil, t, path)
	case '{':
		var d struct {
			SDP  *string `json:"sdp"`
			Type *string `json:"type"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, jsonFieldError(path, err)
		}
		sdp := ""
		if d.SDP != nil {
			sdp = *d.SDP
		}
		return finishDescription(sdp, d.Type, t, path)
	default:
		return nil, invalid(path, "is neither an object nor a string")
	}
}

func finishDescription(sdp string, typ *string, t SignalType, path string) (*SessionDescription, error) {
	want := strings.ToLower(t.String())
	if typ != nil && strings.TrimSpace(*typ) != "" && !strings.EqualFold(strings.TrimSpace(*typ), want) {
		return nil, invalid(path+".type", "is %q in an %s, want %q", *typ, t, want)
	}
	if strings.TrimSpace(sdp) == "" {
		return nil, missing(path + ".sdp")
	}
	if !strings.HasPrefix(strings.TrimLeft(sdp, " \t\r\n"), "v=") {
		return nil, invalid(path+".sdp", "does not start with \"v=\"")
	}
	return &SessionDescription{Type: want, SDP: sdp}, nil
}

func decodeCandidate(raw json.RawMessage, path string) (*ICECandidate, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, missing(path)
	}
	if raw[0] != '{' {
		return nil, invalid(path, "is not an object")
	}
	var c inCandidate
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, jsonFieldError(path, err)
	}
	var cand, mid *string
	var idx *uint16
	if c.Candidate != nil {
		s := string(*c.Candidate)
		cand = &s
	}
	if c.SDPMid != nil {
		s := string(*c.SDPMid)
		mid = &s
	}
	if c.SDPMLineIndex != nil && c.SDPMLineIndex.set {
		idx = &c.SDPMLineIndex.v
	}
	return finishCandidate(cand, mid, idx, path)
}

func finishCandidate(cand, mid *string, idx *uint16, path string) (*ICECandidate, error) {
	if cand == nil {
		return nil, missing(path + ".candidate")
	}
	out := &ICECandidate{Candidate: strings.TrimSpace(*cand), SDPMid: mid, SDPMLineIndex: idx}
	if out.Candidate != "" {
		if !strings.HasPrefix(strings.TrimPrefix(out.Candidate, "a="), "candidate:") {
			return nil, invalid(path+".candidate", "does not start with \"candidate:\"")
		}
		if out.SDPMid == nil && out.SDPMLineIndex == nil {
			return nil, missing(path + ".sdpMid")
		}
	}
	return out, nil
}

// flexString accepts a JSON string, number or boolean (kept as text) or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		s, err := decodeJSONString(b)
		if err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '{' || b[0] == '[':
		return &json.UnmarshalTypeError{Value: "object or array", Type: contentValueType}
	default:
		*f = flexString(b)
	}
	return nil
}

// flexIndex accepts an m-line index as a number, a numeric string, or null.
type flexIndex struct {
	v   uint16
	set bool
}

func (f *flexIndex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			return nil
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "value " + s, Type: uint16Type}
	}
	f.v, f.set = uint16(n), true
	return nil
}

// parsePeerURI checks a peer base URI: absolute http(s) with a host.
func parsePeerURI(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURI, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q is not http or https", ErrBadURI, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: no host in %q", ErrBadURI, s)
	}
	return u, nil
}
