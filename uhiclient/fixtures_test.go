package uhiclient

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	doctorAddr  = "ganeshborse@hpr.ndhm"
	patientAddr = "manishkahane1992@sbx"
	txnID       = "642d5a60-4fa7-11ed-a230-c795d92f1fb3"
)

// chromeSDP is an offer shaped like the seed's (docs/protocol.md §4: VP8, VP9, H264,
// AV1, Opus), with the CRLFs a browser writes.
func chromeSDP(kind string) string {
	setup := "actpass"
	if kind == "answer" {
		setup = "active"
	}
	lines := []string{
		"v=0", "o=- 2866359230152942495 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
		"a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS 7c2f81c9-3bca-4e04-8081-a8eab5606edf",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 103 104 9 102 0 8 106 105 13 110 112 113 126",
		"c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:d4a/", "a=ice-pwd:z8lphV1asFsLf1fH2WzmLTlh",
		"a=ice-options:trickle renomination",
		"a=fingerprint:sha-256 50:99:D9:7C:26:8C:DE:C9:2E:EF:85:34:4F:3D:12:7D:B3:E3:9D:35:13:24:D9:9E:92:D7:5C:19:AF:6D:32:4D",
		"a=setup:" + setup, "a=mid:0", "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
		"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
		"a=sendrecv", "a=msid:7c2f81c9-3bca-4e04-8081-a8eab5606edf ffe6fdb7-4f64-4cee-b571-dd831d522dbb",
		"a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc", "a=fmtp:111 minptime=10;useinbandfec=1",
		"a=rtpmap:63 red/48000/2", "a=fmtp:63 111/111", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
		"a=ssrc:2486136228 cname:ccpvJW/c2QSZRw2w",
		"m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 127 124 35 36 108 109 125",
		"c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:d4a/", "a=ice-pwd:z8lphV1asFsLf1fH2WzmLTlh",
		"a=setup:" + setup, "a=mid:1", "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset", "a=extmap:13 urn:3gpp:video-orientation",
		"a=sendrecv", "a=rtcp-mux", "a=rtcp-rsize",
		"a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc", "a=rtcp-fb:96 ccm fir",
		"a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
		"a=rtpmap:98 H264/90000", "a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		"a=rtpmap:99 rtx/90000", "a=fmtp:99 apt=98", "a=rtpmap:127 VP9/90000", "a=rtpmap:124 rtx/90000", "a=fmtp:124 apt=127",
		"a=rtpmap:35 AV1/90000", "a=rtpmap:36 rtx/90000", "a=fmtp:36 apt=35", "a=rtpmap:108 red/90000",
		"a=rtpmap:109 rtx/90000", "a=fmtp:109 apt=108", "a=rtpmap:125 ulpfec/90000",
		"a=ssrc-group:FID 4249481809 2174264103", "a=ssrc:4249481809 cname:QA/b1cjsxL2WHyZc",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

func fixedClock() time.Time { return time.Date(2022, 10, 20, 5, 55, 40, 260138000, time.UTC) }

func ist() *time.Location { return time.FixedZone("IST", 5*3600+1800) }

func doctorIdentity() Identity {
	return Identity{
		Self:          Person{Name: "Ganesh Vikram Borse", Gender: "M", Image: "image2", Cred: doctorAddr},
		Peer:          Person{Name: "Manish Pravin Kahane", Gender: "M", Image: "image", Cred: patientAddr},
		ConsumerID:    "eua-nha",
		ConsumerURI:   "https://uhieuasandbox.abdm.gov.in/api/v1/bookingService/",
		ProviderID:    "hspa-nha",
		ProviderURI:   "https://hspasbx.abdm.gov.in/api/v1",
		TransactionID: txnID,
	}
}

func patientIdentity() Identity {
	id := doctorIdentity()
	id.Self, id.Peer = id.Peer, id.Self
	id.ConsumerURI = "http://100.65.158.41:8901/api/v1/euaService" // the reference EUA's hard-coded URI
	return id
}

func newTestBuilder(t testing.TB, id Identity) *Builder {
	t.Helper()
	n := 0
	b, err := NewBuilder(id, WithBuilderClock(fixedClock), WithLocation(ist()), WithIDGenerator(func() string {
		n++
		return "d3a74240-503b-11ed-9531-" + strings.Repeat("0", 11) + string(rune('0'+n%10))
	}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMarshal(t testing.TB, env *Envelope) []byte {
	t.Helper()
	b, err := Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patch decodes body into a generic tree, lets f edit it and re-encodes it,
// for building the variants peers send.
func patch(t testing.TB, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// at walks a generic tree along a dotted path of object keys.
func at(m map[string]any, path string) map[string]any {
	for _, k := range strings.Split(path, ".") {
		m = m[k].(map[string]any)
	}
	return m
}

// patchValue edits the inner content_value document of a signalling body.
func patchValue(t testing.TB, body []byte, f func(v map[string]any)) []byte {
	t.Helper()
	return patch(t, body, func(m map[string]any) {
		c := at(m, "message.intent.chat.content")
		var v map[string]any
		if err := json.Unmarshal([]byte(c["content_value"].(string)), &v); err != nil {
			t.Fatal(err)
		}
		f(v)
		b, _ := json.Marshal(v)
		c["content_value"] = string(b)
	})
}
