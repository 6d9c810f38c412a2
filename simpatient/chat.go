package simpatient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"teleconsole/uhiclient"
)

// secret is the chat secret with the doctor, when both keys are known.
func (p *Patient) secret() (uhiclient.ChatSecret, bool) {
	if p.cfg.ChatKey == nil || p.cfg.DoctorChatKey == nil {
		return uhiclient.ChatSecret{}, false
	}
	s, err := uhiclient.SharedChatSecret(*p.cfg.ChatKey, *p.cfg.DoctorChatKey)
	return s, err == nil
}

// SendText sends a chat text to the doctor as the reference patients' app
// does: encrypted when both chat keys are known, else plain.
func (p *Patient) SendText(ctx context.Context, text string) error {
	value := text
	if s, ok := p.secret(); ok {
		var err error
		if value, err = s.Encrypt(rand.Reader, text); err != nil {
			return err
		}
	}
	if err := p.client.Send(ctx, p.cfg.ConsoleURI, p.builder.Text(value)); err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	p.emit(Event{Kind: EventChatSent, Text: "chat sent: " + text})
	return nil
}

// SendMedia sends a file to the doctor as base64, as the reference app does.
func (p *Patient) SendMedia(ctx context.Context, name, mimeType string, data []byte) error {
	if err := p.client.Send(ctx, p.cfg.ConsoleURI, p.builder.Media(name, mimeType, data)); err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	p.emit(Event{Kind: EventChatSent, Text: fmt.Sprintf("file sent: %s (%d bytes)", name, len(data))})
	return nil
}

// chat takes one chat message from the doctor: text is opened (the MAC
// checked first) and reported; a file is decoded and reported with its
// digest.
func (p *Patient) chat(in *uhiclient.Inbound) {
	if in.Sender != p.cfg.Doctor {
		p.log.Info("chat not from our doctor dropped", "from", in.Sender)
		return
	}
	m := in.Chat
	if strings.EqualFold(m.ContentType, uhiclient.ContentTypeMedia) {
		data, err := uhiclient.MediaBytes(m.Value)
		if err != nil {
			p.emit(Event{Kind: EventError, Text: "file not read: " + err.Error(), Err: err})
			return
		}
		sum := sha256.Sum256(data)
		kept := ""
		if p.cfg.KeepDir != "" {
			path, err := keep(p.cfg.KeepDir, m.FileName, data)
			if err != nil {
				p.emit(Event{Kind: EventError, Text: "file not kept: " + err.Error(), Err: err})
			} else {
				kept = ", kept at " + path
			}
		}
		p.emit(Event{Kind: EventChat, Data: data, Text: fmt.Sprintf("file received: %s %s %d bytes sha256 %x%s",
			m.FileName, uhiclient.MediaType(m.MimeType, m.FileName, data), len(data), sum, kept)})
		return
	}
	text := m.Value
	how := "plain"
	if uhiclient.IsSealed(m.Value) {
		s, ok := p.secret()
		if !ok {
			p.emit(Event{Kind: EventError, Text: "encrypted chat and no key", Err: uhiclient.ErrNotSealed})
			return
		}
		var err error
		if text, err = s.Open(m.Value); err != nil {
			p.emit(Event{Kind: EventError, Text: "chat not opened: " + err.Error(), Err: err})
			return
		}
		how = "encrypted"
	}
	p.emit(Event{Kind: EventChat, Text: fmt.Sprintf("chat received (%s): %s", how, text)})
}

// keep writes a received file in dir under its own name (its base name
// alone: a name from the network never leaves dir), and returns its path.
func keep(dir, name string, data []byte) (string, error) {
	base := filepath.Base(filepath.Clean("/" + name))
	if base == "/" || base == "." {
		base = "file"
	}
	path := filepath.Join(dir, base)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}
