package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/booking"
)

// BookingBucket is the key-value bucket a hospital's appointments are kept
// in, replicated as the stream is, so any hub replica answers any booking
// and none can book a slot another has (docs/booking.md §3).
const BookingBucket = "uhi_bookings"

// Bookings is a booking.Store on a JetStream key-value bucket. A claim is
// one key per slot; an order one key per order, beside two indexes (the
// doctor's day, the booking's transaction) written before it, so a crash
// between the two leaves an index entry to an order not there, which the
// reads skip, and never an order no read finds. Every change is a create
// or an update at the revision read: the bucket's compare-and-set, never a
// check then a write.
type Bookings struct {
	kv jetstream.KeyValue
}

// NewBookings creates the bucket, or binds it if it exists, with replicas
// copies, waiting through a new cluster's elections as the hub's own
// stream and buckets do (ensure.go); log says what it waits for.
func NewBookings(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*Bookings, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := ensureKeyValue(ctx, js, log, jetstream.KeyValueConfig{Bucket: BookingBucket, History: 1,
		Storage: jetstream.FileStorage, Replicas: max(1, replicas),
		Description: "teleconsole: the doctors' appointments and the claims on their slots"})
	if err != nil {
		return nil, fmt.Errorf("hub: bucket %s: %w", BookingBucket, err)
	}
	return &Bookings{kv: kv}, nil
}

// keyPart makes any text a key element: keys take only letters, digits and
// a few marks, and an HPR address has an @.
func keyPart(s string) string { return hex.EncodeToString([]byte(s)) }

func claimKey(slot string) string { return "claim." + keyPart(slot) }
func orderKey(id string) string   { return "order." + keyPart(id) }
func dayKey(doctor string, day time.Time, id string) string {
	return "day." + keyPart(doctor) + "." + day.UTC().Format("20060102") + "." + keyPart(id)
}
func txnKey(doctor, txn string) string { return "txn." + keyPart(doctor) + "." + keyPart(txn) }

// claimValue is a claim's value: the order that has the slot, and until
// when (0: kept).
type claimValue struct {
	Order string `json:"order"`
	Until int64  `json:"until_ns"`
}

// casTries bounds the rereads of a key another writer changed meanwhile.
const casTries = 16

// Each call on the bucket is bounded by kvTry and tried again, for up to
// kvPatience in all: while its stream elects a leader after a node dies, a
// request may get no answer at all, and the next, to the new leader, one
// at once. Measured on this machine's three-node test cluster, an
// election takes 3 to 7 seconds (docs/hub.md).
const (
	kvTry      = 2 * time.Second
	kvPatience = 15 * time.Second
)

// retryable reports a call that got no answer, which another try may.
func retryable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// kvCall runs f with a bounded context until it answers, for up to
// kvPatience or ctx's end; retried reports whether an earlier try went
// unanswered (and so may have been applied).
func kvCall[T any](ctx context.Context, f func(ctx context.Context) (T, error)) (v T, retried bool, err error) {
	deadline := time.Now().Add(kvPatience)
	for try := 0; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, kvTry)
		v, err = f(tctx)
		cancel()
		if err == nil || !retryable(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return v, try > 0, err
		}
		select {
		case <-ctx.Done():
			return v, true, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Bookings) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, _, err := kvCall(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return b.kv.Get(ctx, key) })
	return e, err
}

// create creates key with val; a create that went unanswered and was
// applied after all reads back as this value, and counts as done.
func (b *Bookings) create(ctx context.Context, key string, val []byte) (uint64, error) {
	rev, retried, err := kvCall(ctx, func(ctx context.Context) (uint64, error) { return b.kv.Create(ctx, key, val) })
	if retried && errors.Is(err, jetstream.ErrKeyExists) {
		if e, gerr := b.get(ctx, key); gerr == nil && string(e.Value()) == string(val) {
			return e.Revision(), nil
		}
	}
	return rev, err
}

// update writes val at key if its revision is still rev; as create, an
// unanswered update applied after all counts as done.
func (b *Bookings) update(ctx context.Context, key string, val []byte, rev uint64) (uint64, error) {
	n, retried, err := kvCall(ctx, func(ctx context.Context) (uint64, error) { return b.kv.Update(ctx, key, val, rev) })
	if retried && isWrongRevision(err) {
		if e, gerr := b.get(ctx, key); gerr == nil && string(e.Value()) == string(val) && e.Revision() > rev {
			return e.Revision(), nil
		}
	}
	return n, err
}

func (b *Bookings) put(ctx context.Context, key string, val []byte) error {
	_, _, err := kvCall(ctx, func(ctx context.Context) (uint64, error) { return b.kv.Put(ctx, key, val) })
	return err
}

// Claim implements booking.Store.
func (b *Bookings) Claim(ctx context.Context, slotID, orderID string, until, now time.Time) error {
	val, _ := json.Marshal(claimValue{Order: orderID, Until: until.UnixNano()})
	for range casTries {
		e, err := b.get(ctx, claimKey(slotID))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err = b.create(ctx, claimKey(slotID), val); err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
				return wrapKV("claim slot", err)
			}
			continue // another claim came first: read it
		case err != nil:
			return wrapKV("claim slot", err)
		}
		var c claimValue
		if err := json.Unmarshal(e.Value(), &c); err != nil {
			return fmt.Errorf("hub: claim of %s: %w", slotID, err)
		}
		if c.Order != orderID && (c.Until == 0 || c.Until > now.UnixNano()) {
			return booking.ErrSlotTaken
		}
		if _, err = b.update(ctx, claimKey(slotID), val, e.Revision()); err == nil || !isWrongRevision(err) {
			return wrapKV("claim slot", err)
		}
	}
	return fmt.Errorf("hub: claim slot %s: %w", slotID, booking.ErrConflict)
}

// Keep implements booking.Store.
func (b *Bookings) Keep(ctx context.Context, slotID, orderID string) error {
	val, _ := json.Marshal(claimValue{Order: orderID})
	for range casTries {
		e, err := b.get(ctx, claimKey(slotID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return booking.ErrSlotTaken
		}
		if err != nil {
			return wrapKV("keep slot", err)
		}
		var c claimValue
		if err := json.Unmarshal(e.Value(), &c); err != nil || c.Order != orderID {
			return booking.ErrSlotTaken
		}
		if _, err = b.update(ctx, claimKey(slotID), val, e.Revision()); err == nil || !isWrongRevision(err) {
			return wrapKV("keep slot", err)
		}
	}
	return fmt.Errorf("hub: keep slot %s: %w", slotID, booking.ErrConflict)
}

// Release implements booking.Store.
func (b *Bookings) Release(ctx context.Context, slotID, orderID string) error {
	for range casTries {
		e, err := b.get(ctx, claimKey(slotID))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return wrapKV("release slot", err)
		}
		var c claimValue
		if err := json.Unmarshal(e.Value(), &c); err != nil || c.Order != orderID {
			return nil
		}
		_, _, err = kvCall(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, b.kv.Delete(ctx, claimKey(slotID), jetstream.LastRevision(e.Revision()))
		})
		if err == nil || !isWrongRevision(err) {
			return wrapKV("release slot", err)
		}
	}
	return fmt.Errorf("hub: release slot %s: %w", slotID, booking.ErrConflict)
}

// PutOrder implements booking.Store: the order's revision is its key's.
func (b *Bookings) PutOrder(ctx context.Context, o booking.Order) (uint64, error) {
	val, err := json.Marshal(o)
	if err != nil {
		return 0, fmt.Errorf("hub: order: %w", err)
	}
	if o.Revision == 0 {
		// The indexes first: an index to no order is skipped by reads.
		if err := b.put(ctx, dayKey(o.Doctor, o.Start, o.ID), []byte(o.ID)); err != nil {
			return 0, wrapKV("order index", err)
		}
		if o.TransactionID != "" {
			if err := b.put(ctx, txnKey(o.Doctor, o.TransactionID), []byte(o.ID)); err != nil {
				return 0, wrapKV("order index", err)
			}
		}
		rev, err := b.create(ctx, orderKey(o.ID), val)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, booking.ErrConflict
		}
		return rev, wrapKV("new order", err)
	}
	rev, err := b.update(ctx, orderKey(o.ID), val, o.Revision)
	if isWrongRevision(err) || errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, booking.ErrConflict
	}
	return rev, wrapKV("order", err)
}

// Order implements booking.Store.
func (b *Bookings) Order(ctx context.Context, id string) (booking.Order, error) {
	e, err := b.get(ctx, orderKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return booking.Order{}, booking.ErrNoOrder
	}
	if err != nil {
		return booking.Order{}, wrapKV("order", err)
	}
	var o booking.Order
	if err := json.Unmarshal(e.Value(), &o); err != nil {
		return booking.Order{}, fmt.Errorf("hub: order %s: %w", id, err)
	}
	o.Revision = e.Revision()
	return o, nil
}

// Orders implements booking.Store, through the day index.
func (b *Bookings) Orders(ctx context.Context, doctor string, from, to time.Time) ([]booking.Order, error) {
	var filters []string
	for d := from.UTC().Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		filters = append(filters, "day."+keyPart(doctor)+"."+d.Format("20060102")+".*")
	}
	if len(filters) == 0 {
		return nil, nil
	}
	lister, err := b.kv.ListKeysFiltered(ctx, filters...)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapKV("orders", err)
	}
	defer func() { _ = lister.Stop() }()
	var out []booking.Order
	for k := range lister.Keys() {
		raw, err := hex.DecodeString(k[strings.LastIndexByte(k, '.')+1:])
		if err != nil {
			continue
		}
		o, err := b.Order(ctx, string(raw))
		if errors.Is(err, booking.ErrNoOrder) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if o.Doctor == doctor && !o.Start.Before(from) && o.Start.Before(to) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b booking.Order) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// OrderByTransaction implements booking.Store.
func (b *Bookings) OrderByTransaction(ctx context.Context, doctor, txn string) (booking.Order, error) {
	e, err := b.get(ctx, txnKey(doctor, txn))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return booking.Order{}, booking.ErrNoOrder
	}
	if err != nil {
		return booking.Order{}, wrapKV("transaction", err)
	}
	return b.Order(ctx, string(e.Value()))
}

// isWrongRevision reports a compare-and-set that lost to another writer.
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func wrapKV(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("hub: %s: %w", what, err)
}
