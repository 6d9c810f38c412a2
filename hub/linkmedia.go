package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/uhiclient"
)

// fetchTimeout bounds fetching one message's objects: 5 MB in chunks of
// 128 KiB from the hospital's NATS.
const fetchTimeout = 30 * time.Second

// fetchMedia puts back in a message the photos and the attachment the hub
// put in the doctor's media bucket (Hub.stow), and returns the message and
// the objects' names, to drop once it is taken. An object gone (expired,
// or deleted after an earlier delivery) leaves its value empty, logged; on
// any other error the message is returned as it came.
func (l *Link) fetchMedia(h nats.Header, in *uhiclient.Inbound) (*uhiclient.Inbound, []string, error) {
	if h.Get(headerSenderImage) == "" && h.Get(headerReceiverImage) == "" && h.Get(headerContent) == "" {
		return in, nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	obs, err := l.mediaBucket(ctx)
	if err != nil {
		return in, nil, fmt.Errorf("the media bucket %s: %w", MediaBucket(l.cfg.Doctor), err)
	}
	env := in.Envelope
	chat := &env.Message.Intent.Chat
	var names []string
	get := func(header string) (string, bool, error) {
		name := h.Get(header)
		if name == "" {
			return "", false, nil
		}
		b, err := obs.GetBytes(ctx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			l.log.Warn("a photo or attachment of the message is gone", "message_id", in.MessageID, "object", name)
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("object %s: %w", name, err)
		}
		names = append(names, name)
		return string(b), true, nil
	}
	if v, ok, err := get(headerSenderImage); err != nil {
		return in, nil, err
	} else if ok {
		chat.Sender.Person.Image = v
	}
	if v, ok, err := get(headerReceiverImage); err != nil {
		return in, nil, err
	} else if ok {
		chat.Receiver.Person.Image = v
	}
	if v, ok, err := get(headerContent); err != nil {
		return in, nil, err
	} else if ok {
		chat.Content.ContentValue = uhiclient.ContentValue(v)
	}
	// Decoded again, so that what Decode lifts out of the envelope (the
	// chat's value) has what was put back.
	body, err := uhiclient.Marshal(&env)
	if err != nil {
		return in, nil, err
	}
	whole, err := uhiclient.Decode(body)
	if err != nil {
		return in, nil, err
	}
	return whole, names, nil
}

// mediaBucket binds the doctor's media bucket the first time it is needed.
func (l *Link) mediaBucket(ctx context.Context) (jetstream.ObjectStore, error) {
	l.mu.Lock()
	obs := l.media
	l.mu.Unlock()
	if obs != nil {
		return obs, nil
	}
	obs, err := l.js.ObjectStore(ctx, MediaBucket(l.cfg.Doctor))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.media = obs
	l.mu.Unlock()
	return obs, nil
}

// dropMedia deletes objects the console has taken; what it cannot delete
// expires (mediaKeep).
func (l *Link) dropMedia(names []string) {
	if len(names) == 0 {
		return
	}
	l.mu.Lock()
	obs := l.media
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range names {
		if err := obs.Delete(ctx, name); err != nil {
			l.log.Info("object not deleted; it expires", "object", name, "err", err)
		}
	}
}
