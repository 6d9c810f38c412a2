package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/booking"
	"teleconsole/booking/storetest"
)

// bookingsOn makes or binds the bucket on the NATS at url, as the hub's
// user, with replicas copies; fresh deletes an earlier check's first.
func bookingsOn(t *testing.T, url string, replicas int, fresh bool) *Bookings {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo("hub", hubPass), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if fresh {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = js.DeleteKeyValue(ctx, BookingBucket)
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := NewBookings(ctx, js, replicas, nil)
	if err != nil {
		t.Fatalf("bookings bucket: %v", err)
	}
	return b
}

func TestBookingsStore(t *testing.T) {
	r := newRig(t)
	storetest.Run(t, func(t *testing.T) booking.Store { return bookingsOn(t, r.url, 1, true) })
}

const clusterSchedule = `{"doctor": {"name": "Dr A", "hpr": "` + doctorA + `"},
 "services": {"teleconsultation": {"fee": "500", "hours": {"daily": ["00:00-24:00"]}}}}`

// TestBookingsOneSlotOnAClusterLosingANode has fifty patients book the
// same slot at once through two hub replicas, each on its own node of a
// three-node cluster with the bucket on all three, while a third node
// dies: exactly one is booked, the others are refused, and both replicas
// read the same one booking afterwards.
func TestBookingsOneSlotOnAClusterLosingANode(t *testing.T) {
	r, nodes := newClusterRig(t)
	plan, err := booking.ParseSchedule([]byte(clusterSchedule))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	replicas := []*Bookings{bookingsOn(t, nodes[0].ClientURL(), 3, false), nil}
	replicas[1] = bookingsOn(t, nodes[1].ClientURL()+","+nodes[0].ClientURL(), 3, false)
	var desks []*booking.Desk
	for i := range 2 {
		d, err := booking.NewDesk(plan, replicas[i], booking.WithRand(rand.NewChaCha8([32]byte{byte(i + 1)})))
		if err != nil {
			t.Fatal(err)
		}
		desks = append(desks, d)
	}
	free, err := desks[0].Free(context.Background(), booking.KindTele, now, now.Add(2*time.Hour))
	if err != nil || len(free) == 0 {
		t.Fatalf("free slots: %v %v", len(free), err)
	}
	slot := free[0]

	var wg sync.WaitGroup
	var booked, refused, failed atomic.Int32
	var mu sync.Mutex
	var errs []error
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d := desks[i%2]
			who := booking.Patient{Address: fmt.Sprintf("p%d@sbx", i)}
			o, err := d.Init(ctx, booking.InitRequest{SlotID: slot.ID, TransactionID: fmt.Sprint("t", i), Patient: who})
			if err == nil {
				_, _, err = d.Confirm(ctx, booking.ConfirmRequest{OrderID: o.ID, Who: booking.Who{Address: who.Address}})
			}
			switch {
			case err == nil:
				booked.Add(1)
			case errors.Is(err, booking.ErrSlotTaken), errors.Is(err, booking.ErrHoldExpired):
				refused.Add(1)
			default:
				failed.Add(1)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	nodes[2].Shutdown() // in the middle of it
	wg.Wait()
	if booked.Load() != 1 {
		t.Errorf("%d patients booked the one slot, %d refused, %d failed: %v", booked.Load(), refused.Load(), failed.Load(), errs)
	}
	if booked.Load()+refused.Load()+failed.Load() != 50 {
		t.Errorf("answers lost: %d booked, %d refused, %d failed", booked.Load(), refused.Load(), failed.Load())
	}
	if failed.Load() > 0 {
		t.Errorf("%d patients got an error, not an answer, across the node's death: %v", failed.Load(), errs)
	}
	for i, d := range desks {
		day, err := d.Day(context.Background(), slot.Start)
		var ids []string
		for _, o := range day {
			if o.SlotID == slot.ID && o.State == booking.StateConfirmed {
				ids = append(ids, o.ID)
			}
		}
		if err != nil || len(ids) != 1 {
			t.Errorf("replica %d reads %d bookings of the slot (%v), want 1: %v", i, len(ids), ids, err)
		}
	}
	_ = r
}
