package hub

import (
	"encoding/hex"
	"strings"
)

// The NATS names the hub and the consoles share (docs/hub.md, "Subjects").
const (
	// Stream is the JetStream stream that holds inbound messages.
	Stream = "UHI_INBOUND"
	// PresenceBucket is the key-value bucket of when each console was last
	// seen, keyed by Token.
	PresenceBucket = "uhi_presence"
	// inboundPrefix begins each doctor's inbound subject.
	inboundPrefix = "uhi.in."
	// outboundPrefix begins each doctor's subject for outbound requests.
	outboundPrefix = "uhi.out."
	// outboundAll is every doctor's outbound subject, which the hubs serve.
	outboundAll = outboundPrefix + "*"
	// inboundAll is every doctor's inbound subject, which the stream holds.
	inboundAll = inboundPrefix + "*"
	// hubQueue is the queue group the hub replicas share outbound requests in.
	hubQueue = "uhi-hub"
)

// Token is a doctor's HPR address as one NATS subject token: the hex of the
// address in lower case. An address has dots, which NATS reads as token
// separators, and may have other characters a subject or a consumer name
// cannot hold; hex has none of them and maps each address to one token.
func Token(addr string) string {
	return hex.EncodeToString([]byte(strings.ToLower(strings.TrimSpace(addr))))
}

// addressOf is the address a token was made from.
func addressOf(token string) (string, bool) {
	b, err := hex.DecodeString(token)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

// InboundSubject is where the hub stores messages for the doctor at addr.
func InboundSubject(addr string) string { return inboundPrefix + Token(addr) }

// OutboundSubject is where the doctor at addr sends outbound requests.
func OutboundSubject(addr string) string { return outboundPrefix + Token(addr) }

// Durable is the name of the doctor's durable consumer on Stream.
func Durable(addr string) string { return "doctor_" + Token(addr) }

// InboxPrefix is the prefix of the doctor's reply subjects: replies to their
// requests come there, and nowhere another doctor can read.
func InboxPrefix(addr string) string { return "_INBOX_" + Token(addr) }

// presenceSubject is the key-value subject of the doctor's presence entry:
// a console publishes to it directly, which needs no access to the rest of
// the bucket.
func presenceSubject(addr string) string { return "$KV." + PresenceBucket + "." + Token(addr) }

// Permissions are the subjects a doctor's NATS user may publish and
// subscribe to: its own consumer's next-message, info and ack subjects,
// its own presence key, its own outbound subject, its own media bucket,
// and its own inbox. With
// them a console reads no other doctor's messages and sends as no other
// doctor (docs/hub.md, "Adding a doctor").
func Permissions(addr string) (publish, subscribe []string) {
	d := Durable(addr)
	publish = []string{
		"$JS.API.CONSUMER.MSG.NEXT." + Stream + "." + d,
		"$JS.API.CONSUMER.INFO." + Stream + "." + d,
		"$JS.ACK." + Stream + "." + d + ".>",
		presenceSubject(addr),
		OutboundSubject(addr),
	}
	// Its own media bucket (media.go): look it up, read an object's
	// description and its chunks through an ordered consumer of its own,
	// and delete what it has read.
	ms := mediaStream(addr)
	publish = append(publish,
		"$JS.API.STREAM.INFO."+ms,
		"$JS.API.STREAM.MSG.GET."+ms,
		"$JS.API.DIRECT.GET."+ms+".>",
		"$JS.API.CONSUMER.CREATE."+ms,
		"$JS.API.CONSUMER.CREATE."+ms+".>",
		"$JS.API.CONSUMER.INFO."+ms+".>",
		"$JS.API.CONSUMER.DELETE."+ms+".>",
		"$JS.FC."+ms+".>",
		"$JS.API.STREAM.PURGE."+ms,
		"$O."+MediaBucket(addr)+".M.>",
	)
	subscribe = []string{InboxPrefix(addr) + ".>"}
	return publish, subscribe
}
