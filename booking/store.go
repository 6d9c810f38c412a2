package booking

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Store keeps orders and the claims on slots. It is what makes "one slot,
// one patient" hold across goroutines, processes and replicas: Claim and
// Keep are each one atomic compare-and-set, never a check then a write.
// The consultation record keeps one console's; the hub's key-value bucket
// a hospital's.
type Store interface {
	// Claim gives slotID to orderID until `until`, if no other order
	// keeps it at now: no claim, a claim by orderID, or a claim that
	// lapsed before now and was never kept. Otherwise ErrSlotTaken.
	Claim(ctx context.Context, slotID, orderID string, until, now time.Time) error
	// Keep makes orderID's claim on slotID last until it is released;
	// ErrSlotTaken if another order has the slot.
	Keep(ctx context.Context, slotID, orderID string) error
	// Release frees slotID if orderID has it; otherwise it does nothing.
	Release(ctx context.Context, slotID, orderID string) error
	// PutOrder stores o and returns its new revision: a new order when
	// o.Revision is 0 (ErrConflict if its id exists), else only if the
	// stored revision is still o.Revision (ErrConflict if not).
	PutOrder(ctx context.Context, o Order) (uint64, error)
	// Order returns the order with id, or ErrNoOrder.
	Order(ctx context.Context, id string) (Order, error)
	// Orders returns doctor's orders whose slot starts in [from, to).
	Orders(ctx context.Context, doctor string, from, to time.Time) ([]Order, error)
	// OrderByTransaction returns doctor's newest order of the UHI
	// transaction txn, or ErrNoOrder.
	OrderByTransaction(ctx context.Context, doctor, txn string) (Order, error)
}

// MemoryStore is a Store in memory, for tests and for a console that keeps
// no record. The zero value is not usable; use NewMemoryStore.
type MemoryStore struct {
	mu       sync.Mutex
	claims   map[string]claim
	orders   map[string]Order
	byDoctor map[string]map[string]bool // doctor: their orders' ids
}

type claim struct {
	order string
	until time.Time // zero: kept
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{claims: map[string]claim{}, orders: map[string]Order{}, byDoctor: map[string]map[string]bool{}}
}

// Claim implements Store.
func (m *MemoryStore) Claim(_ context.Context, slotID, orderID string, until, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[slotID]; ok && c.order != orderID && (c.until.IsZero() || c.until.After(now)) {
		return ErrSlotTaken
	}
	m.claims[slotID] = claim{order: orderID, until: until}
	return nil
}

// Keep implements Store.
func (m *MemoryStore) Keep(_ context.Context, slotID, orderID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[slotID]; !ok || c.order != orderID {
		return ErrSlotTaken
	}
	m.claims[slotID] = claim{order: orderID}
	return nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, slotID, orderID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[slotID]; ok && c.order == orderID {
		delete(m.claims, slotID)
	}
	return nil
}

// PutOrder implements Store.
func (m *MemoryStore) PutOrder(_ context.Context, o Order) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, exists := m.orders[o.ID]
	if exists != (o.Revision != 0) || (exists && old.Revision != o.Revision) {
		return 0, ErrConflict
	}
	o.Revision++
	m.orders[o.ID] = o
	if m.byDoctor[o.Doctor] == nil {
		m.byDoctor[o.Doctor] = map[string]bool{}
	}
	m.byDoctor[o.Doctor][o.ID] = true
	return o.Revision, nil
}

// Order implements Store.
func (m *MemoryStore) Order(_ context.Context, id string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return Order{}, ErrNoOrder
	}
	return o, nil
}

// Orders implements Store.
func (m *MemoryStore) Orders(_ context.Context, doctor string, from, to time.Time) ([]Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Order
	for id := range m.byDoctor[doctor] {
		if o := m.orders[id]; !o.Start.Before(from) && o.Start.Before(to) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Order) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// OrderByTransaction implements Store.
func (m *MemoryStore) OrderByTransaction(_ context.Context, doctor, txn string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best Order
	for id := range m.byDoctor[doctor] {
		if o := m.orders[id]; o.TransactionID == txn && (best.ID == "" || o.Created.After(best.Created)) {
			best = o
		}
	}
	if best.ID == "" {
		return Order{}, ErrNoOrder
	}
	return best, nil
}
