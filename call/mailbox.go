package call

import "sync"

// mailbox is an unbounded FIFO whose push never blocks: pion callbacks and
// the session's callers publish into it, and one goroutine consumes it
// (docs/style.md §3: a channel that never blocks the publisher).
type mailbox[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	notify chan struct{} // capacity 1: "something is waiting"
}

func newMailbox[T any]() *mailbox[T] {
	return &mailbox[T]{notify: make(chan struct{}, 1)}
}

// push adds v and reports whether the mailbox still accepts items.
func (m *mailbox[T]) push(v T) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, v)
	m.mu.Unlock()
	m.wake()
	return true
}

// take removes and returns everything queued, and whether it is closed.
func (m *mailbox[T]) take() ([]T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items
	m.items = nil
	return items, m.closed
}

// close refuses further pushes; queued items can still be taken.
func (m *mailbox[T]) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.wake()
}

func (m *mailbox[T]) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// isClosed reports whether close was called.
func (m *mailbox[T]) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}
