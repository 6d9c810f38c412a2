package app

import (
	"sync"
	"time"
)

// ackTimeout bounds one ACK's delivery, retries included.
const ackTimeout = 10 * time.Second

// ackQueue holds the patients owed an ACK, oldest first, one entry per
// patient: a READY repeated while its ACK waits changes nothing, since the
// ACK is addressed when it is sent. It is bounded by the waiting room's
// capacity (one entry per patient the room holds); past that the oldest
// entry goes, as its patient has left the room. The patients' app READYs
// again until an ACK reaches it, but only every 5 s, so every READY the
// room accepts is ACKed, not skipped when many arrive at once.
type ackQueue struct {
	mu      sync.Mutex
	ready   sync.Cond
	order   []string
	pending map[string]bool
	limit   int
	closed  bool
}

func newAckQueue(limit int) *ackQueue {
	q := &ackQueue{pending: map[string]bool{}, limit: max(1, limit)}
	q.ready.L = &q.mu
	return q
}

// push queues an ACK for addr unless one is already queued. After close it
// does nothing.
func (q *ackQueue) push(addr string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.pending[addr] {
		return
	}
	if len(q.order) >= q.limit {
		delete(q.pending, q.order[0])
		q.order = q.order[1:]
	}
	q.order = append(q.order, addr)
	q.pending[addr] = true
	q.ready.Signal()
}

// pop waits for the oldest queued ACK and returns its patient; false once
// the queue is closed and empty.
func (q *ackQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.closed {
		q.ready.Wait()
	}
	if len(q.order) == 0 {
		return "", false
	}
	addr := q.order[0]
	q.order = q.order[1:]
	delete(q.pending, addr)
	return addr, true
}

// close stops new pushes and wakes the poppers: they take what is left,
// then stop.
func (q *ackQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.ready.Broadcast()
}
