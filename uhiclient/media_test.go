package uhiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

var pdfBytes = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

func TestMediaRoundTrip(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr)
	b := newTestBuilder(t, patientIdentity())
	env := b.Media("rx.pdf", "application/pdf", pdfBytes)
	body := mustMarshal(t, env)
	// The reference apps' own spelling goes out.
	for _, key := range []string{`"content_type":"media"`, `"content_fileName":"rx.pdf"`, `"content_filePath":"rx.pdf"`} {
		if !bytes.Contains(body, []byte(key)) {
			t.Errorf("body lacks %s: %s", key, body)
		}
	}
	if status, reply, _ := post(t, hs.URL+"/on_message", body, nil); status != 200 || reply != wantACK {
		t.Fatalf("media: %d %s", status, reply)
	}
	in := recv(t, s.Chats())
	got, err := MediaBytes(in.Chat.Value)
	if err != nil || !bytes.Equal(got, pdfBytes) || in.Chat.FileName != "rx.pdf" || in.Chat.MimeType != "application/pdf" {
		t.Fatalf("delivered %+v: %q, %v", in.Chat, got, err)
	}
	if MediaSize(in.Chat.Value) != len(pdfBytes) {
		t.Errorf("MediaSize %d, want %d", MediaSize(in.Chat.Value), len(pdfBytes))
	}

	// Other backends spell the name content_filename and give no type.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	c := at(m, "message.intent.chat.content")
	c["content_filename"], c["content_fileName"], c["content_mimetype"] = "photo.JPG", nil, nil
	at(m, "context")["message_id"] = "other-spelling"
	body, _ = json.Marshal(m)
	if status, reply, _ := post(t, hs.URL+"/on_message", body, nil); status != 200 {
		t.Fatalf("content_filename: %d %s", status, reply)
	}
	in = recv(t, s.Chats())
	if in.Chat.FileName != "photo.JPG" || MediaType(in.Chat.MimeType, in.Chat.FileName, nil) != "image/jpeg" {
		t.Errorf("content_filename read as %+v", in.Chat)
	}
}

func TestMediaOversizedNacked(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr, WithMaxMedia(1000), WithMaxBody(1<<20))
	b := newTestBuilder(t, patientIdentity())
	status, reply, _ := post(t, hs.URL+"/on_message", mustMarshal(t, b.Media("big.png", "image/png", make([]byte, 1001))), nil)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized media: %d %s", status, reply)
	}
	e := nack(t, reply)
	if e.Code != CodeTooLarge || e.Path != "message.intent.chat.content.content_value" || !strings.Contains(e.Message, "attachment too large") {
		t.Errorf("NACK %+v", e)
	}
	none(t, s.Chats())
	if status, _, _ := post(t, hs.URL+"/on_message", mustMarshal(t, b.Media("ok.png", "image/png", make([]byte, 1000))), nil); status != 200 {
		t.Errorf("media at the limit: %d", status)
	}
}

func TestMediaBytesForms(t *testing.T) {
	want := []byte{0xfb, 0xff, 0xfe, 1, 2}
	for _, v := range []string{"+//+AQI=", "+//+AQI", "-__-AQI", "data:image/png;base64,+//+AQI=", "+//+\nAQI="} {
		got, err := MediaBytes(v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("MediaBytes(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := MediaBytes("not base64!"); !errors.Is(err, ErrBadMedia) {
		t.Errorf("bad base64: %v", err)
	}
}

func TestFetchMediaBounded(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rx.pdf":
			_, _ = w.Write(pdfBytes)
		case "/big":
			w.Header().Set("Content-Length", "5000")
			_, _ = w.Write(make([]byte, 5000))
		case "/chunked":
			for range 5 {
				_, _ = w.Write(make([]byte, 1000))
				w.(http.Flusher).Flush()
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()
	ctx := context.Background()
	got, err := FetchMedia(ctx, hs.Client(), hs.URL+"/rx.pdf", 1000)
	if err != nil || !bytes.Equal(got, pdfBytes) {
		t.Fatalf("FetchMedia = %q, %v", got, err)
	}
	for _, p := range []string{"/big", "/chunked"} {
		if _, err := FetchMedia(ctx, hs.Client(), hs.URL+p, 1000); !errors.Is(err, ErrMediaTooLarge) {
			t.Errorf("%s: %v, want ErrMediaTooLarge", p, err)
		}
	}
	if _, err := FetchMedia(ctx, hs.Client(), hs.URL+"/gone", 1000); err == nil {
		t.Error("404 fetched")
	}
	if _, err := FetchMedia(ctx, hs.Client(), "file:///etc/passwd", 1000); !errors.Is(err, ErrBadMedia) {
		t.Errorf("file URL: %v", err)
	}
}
