package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"teleconsole/record"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// chatSendTimeout bounds one chat message's delivery, retries included.
const chatSendTimeout = 30 * time.Second

// Chat delivery results, as recorded and shown (record.Message.Status).
const (
	statusSending  = "sending"
	statusSent     = "sent"
	statusReceived = "received"
)

// ErrNoChatKey means a patient's message is encrypted and the console has
// no key for them: it is kept as it came and shown as unreadable.
var ErrNoChatKey = errors.New("no chat key for this patient (--chat-keys)")

// ChatEvents delivers every chat message in and out, and each outbound
// message again with its delivery result (ui.Console). A reader that lags
// far behind loses screen updates, never the record.
func (c *Console) ChatEvents() <-chan record.Message { return c.chatEvents }

func (c *Console) emitChat(m record.Message) {
	select {
	case c.chatEvents <- m:
	default:
		c.log.Warn("chat event not shown: the screen is behind", "message_id", m.ID)
	}
}

// chats handles inbound chat messages one at a time until ctx ends: each
// is opened (decrypted, its file decoded or fetched), recorded and shown.
func (c *Console) chats(ctx context.Context, inbound <-chan *uhiclient.Inbound) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-inbound:
			if in.Chat != nil && strings.EqualFold(in.Chat.ContentType, uhiclient.ContentTypeMedia) && in.Chat.Value == "" && in.Chat.URL != "" {
				// A fetch takes up to MediaFetchTimeout: it must not hold
				// up the messages behind it.
				c.sends.Go(func() { c.receiveChat(ctx, in) })
				continue
			}
			c.receiveChat(ctx, in)
		}
	}
}

func (c *Console) patientFor(addr string, in *uhiclient.Inbound) waitingroom.Patient {
	if p, ok := c.room.Get(addr); ok {
		return p
	}
	p := waitingroom.Patient{Address: addr}
	if in != nil {
		p = readyPatient(in)
	}
	return p
}

func (c *Console) receiveChat(ctx context.Context, in *uhiclient.Inbound) {
	log := c.log.With("from", in.Sender, "content_type", in.Chat.ContentType, "message_id", in.MessageID)
	_ = c.room.Heard(in.Sender)
	id := c.consults.of(c.patientFor(in.Sender, in))
	m := record.Message{Consultation: id, Peer: in.Sender, ID: in.MessageID, At: in.ReceivedAt, Direction: record.In,
		ContentType: in.Chat.ContentType, Status: statusReceived}
	if m.At.IsZero() {
		m.At = time.Now()
	}
	switch {
	case strings.EqualFold(in.Chat.ContentType, uhiclient.ContentTypeMedia):
		c.receiveMedia(ctx, in, &m, log)
	default:
		m.Text = in.Chat.Value
		if uhiclient.IsSealed(in.Chat.Value) {
			m.Encrypted = true
			text, err := c.open(in.Sender, in.Chat.Value)
			if err != nil {
				// Kept as it came, never shown as text (docs/protocol.md §7).
				m.Status = "unreadable: " + err.Error()
				log.Warn("chat message not opened", "err", err)
			} else {
				m.Text = text
			}
		}
	}
	if c.store != nil {
		c.store.AddMessage(m)
	}
	log.Info("chat message", "status", m.Status)
	c.emitChat(m)
}

func (c *Console) secretFor(addr string) (uhiclient.ChatSecret, bool, error) {
	if c.chatKey == nil {
		return uhiclient.ChatSecret{}, false, nil
	}
	var peer uhiclient.ChatKey
	ok := false
	if c.front != nil {
		// The key the patient sent when booking is theirs for this
		// visit; a key file is the fallback (docs/booking.md §3).
		peer, ok = c.front.chatKey(addr)
	}
	if !ok && c.chatKeys != nil {
		peer, ok = c.chatKeys(addr)
	}
	if !ok {
		return uhiclient.ChatSecret{}, false, nil
	}
	s, err := uhiclient.SharedChatSecret(*c.chatKey, peer)
	return s, err == nil, err
}

func (c *Console) open(addr, value string) (string, error) {
	s, ok, err := c.secretFor(addr)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoChatKey
	}
	return s.Open(value)
}

func (c *Console) receiveMedia(ctx context.Context, in *uhiclient.Inbound, m *record.Message, log *slog.Logger) {
	name := in.Chat.FileName
	if name == "" {
		name = "attachment"
	}
	m.Text = name
	var data []byte
	var err error
	if in.Chat.Value != "" {
		data, err = uhiclient.MediaBytes(in.Chat.Value)
	} else {
		data, err = uhiclient.FetchMedia(ctx, c.mediaHTTP, in.Chat.URL, uhiclient.DefaultMaxMedia)
	}
	if errors.Is(err, uhiclient.ErrFetchRefused) {
		// Kept as refused, with the reason; the patient's message was
		// answered ACK already (docs/protocol.md §7).
		m.Status = "refused: " + err.Error()
		log.Warn("attachment not fetched", "err", err)
		return
	}
	if err != nil {
		m.Status = "unreadable: " + err.Error()
		log.Warn("attachment not read", "err", err)
		return
	}
	mime := uhiclient.MediaType(in.Chat.MimeType, name, data)
	m.MimeType = mime
	if c.store == nil {
		m.Status = fmt.Sprintf("received %s, %d bytes, not kept (--record off)", mime, len(data))
		return
	}
	f := c.store.AddFile(record.File{Consultation: m.Consultation, MessageID: m.ID, At: m.At, Direction: record.In,
		Kind: "media", Name: name, MimeType: mime}, data)
	m.Path = f.Path
	m.Status = fmt.Sprintf("%s: %s, %d bytes", statusReceived, mime, len(data))
}

// SendChat sends text to the patient at addr (ui.Console): encrypted when
// their key is known, plain otherwise, as the reference apps read either
// (docs/protocol.md §7). It returns once the message is queued; the
// delivery result comes on ChatEvents.
func (c *Console) SendChat(addr, text string) error {
	b, err := c.builderFor(addr)
	if err != nil {
		return err
	}
	value, encrypted := text, false
	s, ok, err := c.secretFor(addr)
	if err != nil {
		return err
	}
	if ok {
		if value, err = s.Encrypt(rand.Reader, text); err != nil {
			return err
		}
		encrypted = true
	}
	env := b.Text(value)
	c.send(addr, b, env, record.Message{ContentType: uhiclient.ContentTypeText, Text: text, Encrypted: encrypted})
	return nil
}

// SendFile sends the file at path to the patient at addr (ui.Console), as
// the reference apps send one: base64 in content_value, up to 5 MB.
func (c *Console) SendFile(addr, path string) error {
	b, err := c.builderFor(addr)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() > uhiclient.DefaultMaxMedia {
		return fmt.Errorf("%s: %w (%d bytes, limit %d)", filepath.Base(path), uhiclient.ErrMediaTooLarge, fi.Size(), uhiclient.DefaultMaxMedia)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	mime := uhiclient.MediaType("", name, data)
	env := b.Media(name, mime, data)
	m := record.Message{ContentType: uhiclient.ContentTypeMedia, Text: name, MimeType: mime}
	m.Consultation = c.consults.of(c.patientFor(addr, nil))
	if c.store != nil {
		f := c.store.AddFile(record.File{Consultation: m.Consultation, MessageID: env.Context.MessageID, At: time.Now(),
			Direction: record.Out, Kind: "media", Name: name, MimeType: mime}, data)
		m.Path = f.Path
	}
	c.send(addr, b, env, m)
	return nil
}

// send records m as sending, then posts env in the background and records
// and shows the result.
func (c *Console) send(addr string, b *uhiclient.Builder, env *uhiclient.Envelope, m record.Message) {
	if m.Consultation == "" {
		m.Consultation = c.consults.of(c.patientFor(addr, nil))
	}
	m.Peer, m.ID, m.At, m.Direction, m.Status = addr, env.Context.MessageID, time.Now(), record.Out, statusSending
	if c.store != nil {
		c.store.AddMessage(m)
	}
	c.emitChat(m)
	uri := b.Identity().ConsumerURI
	c.sends.Go(func() {
		ctx, cancel := context.WithTimeout(c.sendCtx, chatSendTimeout)
		defer cancel()
		err := c.wire.Send(ctx, uri, env)
		m.Status = statusSent
		if err != nil {
			m.Status = "failed: " + err.Error()
			c.log.Warn("chat message not delivered", "to", addr, "message_id", m.ID, "err", err)
		}
		if c.store != nil {
			c.store.AddMessage(m)
		}
		c.emitChat(m)
	})
}

// SetNotes keeps the doctor's notes on the consultation with the patient
// at addr (ui.Console), replacing what was kept before.
func (c *Console) SetNotes(addr, text string) {
	if c.store == nil {
		return
	}
	c.store.SetNotes(c.consults.of(c.patientFor(addr, nil)), text)
}

// Recording says whether consultations are kept (ui.Console).
func (c *Console) Recording() bool { return c.store != nil }

// ErrNoRecord means the console keeps no record (--record off).
var ErrNoRecord = errors.New("no record is kept (--record off)")

// historyTimeout bounds one read of the record for the screen.
const historyTimeout = 5 * time.Second

// History returns past consultations, newest first, from after before
// (ui.Historian).
func (c *Console) History(patient string, before record.Cursor, limit int) ([]record.Consultation, error) {
	if c.store == nil {
		return nil, ErrNoRecord
	}
	ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
	defer cancel()
	return c.store.List(ctx, record.Filter{Patient: patient, Before: before, Limit: limit})
}

// Consultation returns one past consultation with its chat, files and
// notes (ui.Historian).
func (c *Console) Consultation(id string) (record.Detail, error) {
	if c.store == nil {
		return record.Detail{}, ErrNoRecord
	}
	ctx, cancel := context.WithTimeout(context.Background(), historyTimeout)
	defer cancel()
	return c.store.Get(ctx, id)
}
