// Package storetest checks that a booking.Store keeps the rules every
// Desk relies on: a slot claimed by one order at a time, a lapsed hold
// given up, a kept claim held until released, orders written by
// compare-and-set, and fifty patients booking one slot at once through
// five desks ending with one booking. Each Store's tests run it on their own
// store: the memory store, the record's and the hub's.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"teleconsole/booking"
)

// Run runs the checks on stores made by open, one fresh store a check.
func Run(t *testing.T, open func(t *testing.T) booking.Store) {
	t.Run("claims", func(t *testing.T) { claims(t, open(t)) })
	t.Run("orders", func(t *testing.T) { orders(t, open(t)) })
	t.Run("one slot one patient", func(t *testing.T) { oneSlot(t, open(t)) })
}

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.FixedZone("IST", 19800))

func claims(t *testing.T, s booking.Store) {
	ctx := context.Background()
	must := func(err error, want error, what string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	}
	must(s.Claim(ctx, "s1", "o1", t0.Add(15*time.Minute), t0), nil, "first claim")
	must(s.Claim(ctx, "s1", "o1", t0.Add(16*time.Minute), t0.Add(time.Minute)), nil, "the same order again")
	must(s.Claim(ctx, "s1", "o2", t0.Add(30*time.Minute), t0.Add(15*time.Minute)), booking.ErrSlotTaken, "another order before the hold lapses")
	must(s.Claim(ctx, "s1", "o2", t0.Add(31*time.Minute), t0.Add(16*time.Minute)), nil, "another order once it lapsed")
	must(s.Keep(ctx, "s1", "o1"), booking.ErrSlotTaken, "the lapsed order keeps it")
	must(s.Keep(ctx, "s1", "o2"), nil, "the holder keeps it")
	must(s.Claim(ctx, "s1", "o3", t0.Add(99*time.Hour), t0.Add(48*time.Hour)), booking.ErrSlotTaken, "a kept claim never lapses")
	must(s.Release(ctx, "s1", "o3"), nil, "another order's release")
	must(s.Claim(ctx, "s1", "o3", t0.Add(99*time.Hour), t0.Add(48*time.Hour)), booking.ErrSlotTaken, "after another order's release")
	must(s.Release(ctx, "s1", "o2"), nil, "the holder's release")
	must(s.Claim(ctx, "s1", "o3", t0.Add(99*time.Hour), t0.Add(48*time.Hour)), nil, "a released slot")
	must(s.Keep(ctx, "nowhere", "o3"), booking.ErrSlotTaken, "keeping a slot never claimed")
}

func orders(t *testing.T, s booking.Store) {
	ctx := context.Background()
	o := booking.Order{ID: "1234-567890-1234", TransactionID: "txn-1", Doctor: "dr@hpr", SlotID: "s1",
		Kind: booking.KindTele, Start: t0.Add(time.Hour), End: t0.Add(75 * time.Minute), Fee: 50000,
		Patient: booking.Patient{Address: "asha@sbx", ConsumerURI: "http://127.0.0.1:1"}, State: booking.StateHeld,
		Created: t0, Changed: t0, HeldUntil: t0.Add(15 * time.Minute), Terms: booking.DefaultTerms("500.00")}
	if _, err := s.Order(ctx, o.ID); !errors.Is(err, booking.ErrNoOrder) {
		t.Fatalf("an order never stored: %v", err)
	}
	rev, err := s.PutOrder(ctx, o)
	if err != nil || rev == 0 {
		t.Fatalf("new order: rev %d, %v", rev, err)
	}
	if _, err := s.PutOrder(ctx, o); !errors.Is(err, booking.ErrConflict) {
		t.Fatalf("a second new order of the same id: %v", err)
	}
	got, err := s.Order(ctx, o.ID)
	if err != nil || got.Revision != rev || got.Patient.Address != "asha@sbx" || !got.Start.Equal(o.Start) ||
		len(got.Terms) != 5 || got.State != booking.StateHeld || !got.HeldUntil.Equal(o.HeldUntil) {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	stale := got
	got.State = booking.StateConfirmed
	rev2, err := s.PutOrder(ctx, got)
	if err != nil || rev2 == rev {
		t.Fatalf("update: rev %d after %d, %v", rev2, rev, err)
	}
	stale.State = booking.StateCancelled
	if _, err := s.PutOrder(ctx, stale); !errors.Is(err, booking.ErrConflict) {
		t.Fatalf("an update from a stale read: %v", err)
	}
	if now, _ := s.Order(ctx, o.ID); now.State != booking.StateConfirmed {
		t.Fatalf("the stale update was written: %s", now.State)
	}
	other := o
	other.ID, other.Start, other.Created = "9999-000000-0001", t0.Add(30*time.Hour), t0.Add(time.Minute)
	if _, err := s.PutOrder(ctx, other); err != nil {
		t.Fatal(err)
	}
	day, err := s.Orders(ctx, "dr@hpr", t0.Add(-8*time.Hour), t0.Add(16*time.Hour))
	if err != nil || len(day) != 1 || day[0].ID != o.ID {
		t.Fatalf("the day's orders: %v %v", day, err)
	}
	if none, _ := s.Orders(ctx, "another@hpr", t0.Add(-8*time.Hour), t0.Add(48*time.Hour)); len(none) != 0 {
		t.Fatalf("another doctor's day has %d orders", len(none))
	}
	newest, err := s.OrderByTransaction(ctx, "dr@hpr", "txn-1")
	if err != nil || newest.ID != other.ID {
		t.Fatalf("newest order of the transaction: %s, %v", newest.ID, err)
	}
	if _, err := s.OrderByTransaction(ctx, "dr@hpr", "txn-none"); !errors.Is(err, booking.ErrNoOrder) {
		t.Fatalf("an unknown transaction: %v", err)
	}
}

const schedule = `{"doctor": {"name": "Dr A", "hpr": "dr@hpr"},
 "services": {"teleconsultation": {"fee": "500", "hours": {"daily": ["09:00-12:00"]}}}}`

func oneSlot(t *testing.T, s booking.Store) {
	ctx := context.Background()
	plan, err := booking.ParseSchedule([]byte(schedule))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return t0 }
	var desks []*booking.Desk
	for i := range 5 {
		d, err := booking.NewDesk(plan, s, booking.WithClock(now), booking.WithRand(rand.NewChaCha8([32]byte{byte(i + 1)})))
		if err != nil {
			t.Fatal(err)
		}
		desks = append(desks, d)
	}
	free, err := desks[0].Free(ctx, booking.KindTele, t0, t0.Add(24*time.Hour))
	if err != nil || len(free) == 0 {
		t.Fatalf("free: %v %v", free, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	confirmed, refused := 0, 0
	for i := range 50 {
		wg.Go(func() {
			d := desks[i%len(desks)]
			who := booking.Patient{Address: fmt.Sprintf("p%d@sbx", i)}
			o, err := d.Init(ctx, booking.InitRequest{SlotID: free[0].ID, TransactionID: fmt.Sprint(i), Patient: who})
			if err == nil {
				_, _, err = d.Confirm(ctx, booking.ConfirmRequest{OrderID: o.ID, Who: booking.Who{Address: who.Address}})
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				confirmed++
			case errors.Is(err, booking.ErrSlotTaken):
				refused++
			default:
				t.Errorf("patient %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if confirmed != 1 || refused != 49 {
		t.Errorf("%d confirmed, %d refused; want 1 and 49", confirmed, refused)
	}
	day, _ := desks[1].Day(ctx, t0)
	if len(day) != 1 || day[0].State != booking.StateConfirmed {
		t.Errorf("the day holds %d bookings", len(day))
	}
}
