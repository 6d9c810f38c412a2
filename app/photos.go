package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"sync"
	"time"

	"teleconsole/internal/still"
	"teleconsole/uhiclient"
)

// The photo in a patient's READY (person.image, base64; often over a
// megabyte, docs/protocol.md §1) is taken from the message when it arrives
// (Console.admit), before the endpoint clears it, and read off the hot
// path by one goroutine: decoded, fitted to photoMaxW by photoMaxH and kept
// as a JPEG of some tens of kilobytes. The waiting room keeps nothing of
// it.
const photoMaxW, photoMaxH = 640, 640

// photoPendingMax bounds the base64 of photos waiting to be read.
const photoPendingMax = 32 << 20

// photoWait is how long PatientPhoto waits for a photo being read.
const photoWait = 3 * time.Second

// ErrNoPhoto means no photo came with the patient's READY.
var ErrNoPhoto = errors.New("no photo: none came with the patient's READY")

// errPhotosBusy is kept for a photo that could not wait to be read.
var errPhotosBusy = errors.New("not read: too many photos arrived at once; the next READY's will be")

// photoEntry is what the console has of one patient's photo.
type photoEntry struct {
	digest  [sha256.Size]byte // of the base64 last read, so a READY sent again is not read again
	jpeg    []byte            // the photo, fitted and encoded
	err     error             // why the last photo could not be read
	reading chan struct{}     // closed when the photo offered last has been read; nil when none is
	at      time.Time         // when a photo was last offered
}

// photos keeps the patients' photos, at most max of them (the oldest
// offered goes first).
type photos struct {
	log     *slog.Logger
	none    error // what PatientPhoto says of a patient with none
	max     int
	wake    chan struct{}
	mu      sync.Mutex
	entries map[string]*photoEntry
	pending map[string]string // base64 to read, by address: the latest wins
	bytes   int               // of pending
}

func newPhotos(log *slog.Logger, max int, none error) *photos {
	return &photos{log: log, none: none, max: max, wake: make(chan struct{}, 1),
		entries: map[string]*photoEntry{}, pending: map[string]string{}}
}

// offer takes the photo of a READY from addr, to be read by run. It never
// blocks: it runs before the READY's reply is written.
func (p *photos) offer(addr, b64 string, now time.Time) {
	if !p.queue(addr, b64, now) {
		p.log.Warn("patient photo not read: too many waiting", "from", addr, "bytes", len(b64))
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// queue puts addr's photo in the pending ones; it reports false when they
// have no room for it.
func (p *photos) queue(addr, b64 string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[addr]
	if e == nil {
		p.evictLocked()
		e = &photoEntry{}
		p.entries[addr] = e
	}
	e.at = now
	old, had := p.pending[addr]
	if p.bytes-len(old)+len(b64) > photoPendingMax {
		if !had {
			e.err = errPhotosBusy
		}
		return false
	}
	p.pending[addr] = b64
	p.bytes += len(b64) - len(old)
	if e.reading == nil {
		e.reading = make(chan struct{})
	}
	return true
}

// evictLocked makes room for one more entry: the one offered longest ago
// and not being read goes.
func (p *photos) evictLocked() {
	if len(p.entries) < p.max {
		return
	}
	var oldest string
	for addr, e := range p.entries {
		if e.reading == nil && (oldest == "" || e.at.Before(p.entries[oldest].at)) {
			oldest = addr
		}
	}
	delete(p.entries, oldest)
}

// run reads the photos offered, one at a time, until ctx ends.
func (p *photos) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for p.readOne() {
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// readOne reads one pending photo; it reports whether there was one.
func (p *photos) readOne() bool {
	p.mu.Lock()
	var addr, b64 string
	for a, v := range p.pending {
		addr, b64 = a, v
		break
	}
	if addr == "" {
		p.mu.Unlock()
		return false
	}
	delete(p.pending, addr)
	p.bytes -= len(b64)
	p.mu.Unlock()

	h := sha256.New()
	_, _ = io.WriteString(h, b64)
	var digest [sha256.Size]byte
	h.Sum(digest[:0])

	p.mu.Lock()
	e := p.entries[addr]
	same := e != nil && e.digest == digest && (e.jpeg != nil || e.err != nil)
	p.mu.Unlock()
	var jpg []byte
	var err error
	if !same {
		jpg, err = readPhoto(b64)
		if err != nil {
			p.log.Warn("patient photo not read", "from", addr, "bytes", len(b64), "err", err)
		} else {
			p.log.Info("patient photo kept", "from", addr, "bytes", len(b64), "kept", len(jpg))
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	e = p.entries[addr]
	if e == nil { // evicted meanwhile
		return true
	}
	if !same {
		e.digest, e.jpeg, e.err = digest, jpg, err
	}
	if _, more := p.pending[addr]; !more && e.reading != nil {
		close(e.reading)
		e.reading = nil
	}
	return true
}

// readPhoto decodes a photo sent as base64 and keeps it fitted, as JPEG.
func readPhoto(b64 string) ([]byte, error) {
	data, err := uhiclient.MediaBytes(b64)
	if err != nil {
		return nil, err
	}
	img, err := still.Decode(data, still.MaxPixels)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, still.Fit(img, photoMaxW, photoMaxH), &jpeg.Options{Quality: 88}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// kept returns addr's photo as kept (JPEG), or nil.
func (p *photos) kept(addr string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.entries[addr]; e != nil && e.err == nil {
		return e.jpeg
	}
	return nil
}

// note says what there is of addr's photo (ui.Photos).
func (p *photos) note(addr string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[addr]
	switch {
	case e == nil:
		return "no photo"
	case e.reading != nil:
		return "reading photo"
	case e.err != nil:
		return "photo unreadable"
	}
	return "photo"
}

// photo returns addr's photo, waiting for one being read.
func (p *photos) photo(addr string) (image.Image, error) {
	p.mu.Lock()
	e := p.entries[addr]
	if e == nil {
		p.mu.Unlock()
		return nil, p.none
	}
	reading := e.reading
	p.mu.Unlock()
	if reading != nil {
		select {
		case <-reading:
		case <-time.After(photoWait):
			return nil, errors.New("the photo is still being read: try again in a moment")
		}
	}
	p.mu.Lock()
	jpg, err := e.jpeg, e.err
	p.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("photo unreadable: %w", err)
	}
	if jpg == nil {
		return nil, p.none
	}
	return jpeg.Decode(bytes.NewReader(jpg))
}

// PhotoNote says what there is of the photo of the patient at addr:
// "photo", "no photo", "reading photo" or "photo unreadable" (ui.Photos).
func (c *Console) PhotoNote(addr string) string { return c.photos.note(addr) }

// PatientPhoto returns the photo the patient at addr sent with their
// READY, or why there is none (ui.Photos).
func (c *Console) PatientPhoto(addr string) (image.Image, error) { return c.photos.photo(addr) }
