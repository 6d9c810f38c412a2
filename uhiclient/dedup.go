package uhiclient

import (
	"sync"
	"time"
)

// dedup remembers recent message ids (docs/protocol.md §3: a repeated message_id is
// acknowledged and dropped). Memory is bounded by a ring of at most size ids;
// an id is also forgotten once older than window.
type dedup struct {
	mu     sync.Mutex
	window time.Duration
	seen   map[string]time.Time
	ring   []string
	next   int
}

func newDedup(size int, window time.Duration) *dedup {
	return &dedup{window: window, seen: make(map[string]time.Time, size), ring: make([]string, size)}
}

// add records id and reports whether it was new.
func (d *dedup) add(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.seen[id]; ok && (d.window <= 0 || now.Sub(at) < d.window) {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.seen[id] = now
	return true
}

// forget removes id, for a message that was refused after add (queue full),
// so the sender's retry is not taken for a duplicate.
func (d *dedup) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.seen, id)
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}
