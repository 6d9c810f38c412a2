package simpatient

import "sync"

// eventQueue hands the patient's events to its callback (WithEvents) on a
// goroutine of its own, in the order they were put. The patient's goroutines
// only append to it, so a slow callback (a stalled stdout, say) holds up
// none of their work, and none of them calls it holding a lock.
//
// It is unbounded on purpose: a patient makes a handful of events per call
// and one per READY, so a callback stuck for minutes costs little memory,
// while a bound would mean dropping events or blocking the patient again.
type eventQueue struct {
	notify func(Event)
	wake   chan struct{} // one buffered: events were put, or the queue closed
	done   chan struct{} // closed once the queue is closed and drained
	once   sync.Once     // run delivers once, however often it is called

	mu     sync.Mutex
	queue  []Event
	closed bool
}

func newEventQueue(notify func(Event)) *eventQueue {
	return &eventQueue{notify: notify, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// put queues e for the callback. After close it drops e: nobody is left
// to deliver it to.
func (q *eventQueue) put(e Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already pending; it covers this one
	}
}

// run calls the callback for every event put, in order, until the queue is
// closed and drained. Called again, it returns at once.
func (q *eventQueue) run() { q.once.Do(q.deliver) }

func (q *eventQueue) deliver() {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch, closed := q.queue, q.closed
		q.queue = nil
		q.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-q.wake
			continue
		}
		for _, e := range batch {
			q.notify(e)
		}
	}
}

// close stops the queue taking events and waits until run has delivered
// those already put, so no callback runs after it returns.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
	<-q.done
}
