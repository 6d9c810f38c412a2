package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/uhiclient"
)

// What NATS cannot carry in one message (its servers' max_payload, 1 MB by
// default) goes in a JetStream object store: a patient's photo in a READY
// (person.image) and a chat attachment (a "media" content_value), up to the
// console's own limits (5 MB a file). The hub puts each in the doctor's own
// bucket, stores the envelope without it and names the object in a header;
// the console's link fetches it, puts it back, and deletes it; what a link
// never fetches expires with its bucket's TTL. Each doctor has a bucket of
// their own, so that NATS's permissions keep each console to its own
// doctor's objects (Permissions).

// Headers naming the objects a stored message's values went to.
const (
	headerSenderImage   = "Uhi-Object-Sender-Image"
	headerReceiverImage = "Uhi-Object-Receiver-Image"
	headerContent       = "Uhi-Object-Content"
)

// mediaKeep is how long an object waits for its console: past the stream's
// own hold (holdFor), in which its message may be delivered.
const mediaKeep = 10 * time.Minute

// MediaBucket is the object store bucket of the doctor at addr.
func MediaBucket(addr string) string { return "uhi_media_" + Token(addr) }

// mediaStream is the stream behind the doctor's bucket.
func mediaStream(addr string) string { return "OBJ_" + MediaBucket(addr) }

// mediaBucket binds (and makes, the first time) the doctor's bucket.
func (h *Hub) mediaBucket(ctx context.Context, addr string) (jetstream.ObjectStore, error) {
	h.mu.Lock()
	obs := h.media[addr]
	h.mu.Unlock()
	if obs != nil {
		return obs, nil
	}
	obs, err := ensureObjects(ctx, h.js, h.log, jetstream.ObjectStoreConfig{
		Bucket: MediaBucket(addr), TTL: mediaKeep, Storage: jetstream.FileStorage, Replicas: h.cfg.Replicas,
		Description: "patients' photos and attachments for " + addr,
	})
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.media[addr] = obs
	h.mu.Unlock()
	return obs, nil
}

// stow puts the message's photos and its attachment in the doctor's
// bucket, named after its message_id, and returns the envelope without
// them and the headers that name them. JetStream's de-duplication keeps a
// retried message once; its objects are put again under the same names.
func (h *Hub) stow(ctx context.Context, in *uhiclient.Inbound, addr string) ([]byte, nats.Header, error) {
	env := in.Envelope // a copy: the values are cleared in it
	chat := &env.Message.Intent.Chat
	hdr := nats.Header{}
	type value struct {
		header, name string
		v            *string
	}
	var content string
	values := []value{
		{headerSenderImage, in.MessageID + ".sender-image", &chat.Sender.Person.Image},
		{headerReceiverImage, in.MessageID + ".receiver-image", &chat.Receiver.Person.Image},
	}
	if chat.Content.ContentType == uhiclient.ContentTypeMedia {
		content = string(chat.Content.ContentValue)
		values = append(values, value{headerContent, in.MessageID + ".content", &content})
	}
	var obs jetstream.ObjectStore
	for _, v := range values {
		if len(*v.v) < stowOver {
			continue
		}
		if obs == nil {
			var err error
			if obs, err = h.mediaBucket(ctx, addr); err != nil {
				return nil, nil, fmt.Errorf("the media bucket of %s: %w", addr, err)
			}
		}
		// Held as the message's publish is while the bucket's stream
		// has no leader.
		// Each attempt within publishTimeout: a put waits for every
		// chunk's acknowledgement, and one whose leader died with it
		// would wait out the whole hold.
		if err := h.held(ctx, "the object store did not take "+v.name, in.MessageID, func(ctx context.Context) error {
			actx, cancel := context.WithTimeout(ctx, publishTimeout)
			defer cancel()
			_, err := obs.PutBytes(actx, v.name, []byte(*v.v))
			return err
		}); err != nil {
			return nil, nil, err
		}
		hdr.Set(v.header, v.name)
		*v.v = ""
	}
	if hdr.Get(headerContent) != "" {
		chat.Content.ContentValue = ""
	}
	data, err := uhiclient.Marshal(&env)
	if err != nil {
		return nil, nil, err
	}
	return data, hdr, nil
}

// stowOver is the smallest value stow puts in the object store: smaller
// ones stay in the message.
const stowOver = 16 << 10
