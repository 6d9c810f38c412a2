package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/booking"
	"teleconsole/internal/euatest"
	"teleconsole/uhiclient"
)

// TestHubBooksOneSlotThroughTwoReplicasLosingANode is the proof issue 24
// asks for: three NATS servers, two hub replicas behind one URL, fifty
// patients' apps (independent EUAs, each its own signing key) init and
// confirm the same slot at once while a NATS server dies. Exactly one is
// CONFIRMED, the forty-nine others are refused with a reason, none is
// left without an answer, and both replicas' desks read the same one
// booking afterwards.
func TestHubBooksOneSlotThroughTwoReplicasLosingANode(t *testing.T) {
	n := newFrontNet(t)
	r, nodes := newClusterRig(t)
	all := strings.Split(r.url, ",")
	front := &lateHandler{}
	lb := httptest.NewServer(front)
	defer lb.Close()
	providerURI := lb.URL + "/api/v1"
	schedules := map[string]*booking.Plan{doctorA: frontSchedule(t, doctorA, "Dr Ganesh Borse", "General Medicine")}
	// Each replica's first server is a node that stays.
	h0 := r.addBookingHub(n, strings.Join([]string{all[0], all[1], all[2]}, ","), 3, providerURI, schedules)
	h1 := r.addBookingHub(n, strings.Join([]string{all[1], all[0], all[2]}, ","), 3, providerURI, schedules)
	front.set(&balancer{hubs: []string{h0.srv.URL, h1.srv.URL}, ports: &http.Client{Timeout: 10 * time.Second}})

	// The slot: the doctor's first one tomorrow, as a patient finds it.
	first := n.eua(t, "p0@sbx")
	slots := tomorrowsSlots(t, first, euatest.Doctor{ID: doctorA, ProviderID: "hospital", ProviderURI: providerURI})
	if len(slots) == 0 {
		t.Fatal("no slots offered")
	}
	slot := slots[0]
	slot.TransactionID = "" // each patient books on a transaction of their own

	const patients = 50
	euas := []*euatest.EUA{first}
	for i := 1; i < patients; i++ {
		euas = append(euas, n.eua(t, fmt.Sprintf("p%d@sbx", i)))
	}
	out := make([]bookingOutcome, patients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	// The node dies once the first patient has an answer to init: with
	// the slot held, and most of the requests still to be answered.
	mid := make(chan struct{})
	var once sync.Once
	for i, e := range euas {
		wg.Go(func() {
			<-start
			out[i] = bookOnce(e, slot, func() { once.Do(func() { close(mid) }) })
		})
	}
	// The node that dies leads the bucket's stream: its claims and orders
	// wait for a new leader, as they would in a hospital.
	leader := bucketLeader(t, h1)
	var dying int
	for i, nd := range nodes {
		if nd.Name() == leader {
			dying = i
		}
	}
	began := time.Now()
	close(start)
	select {
	case <-mid:
	case <-time.After(30 * time.Second):
		t.Fatal("no patient had an answer to init in 30 s")
	}
	killed := time.Since(began)
	nodes[dying].Shutdown() // in the middle of it
	wg.Wait()
	t.Logf("node %s, the bucket's leader, died %v in", leader, killed.Round(time.Millisecond))
	t.Logf("fifty bookings answered in %v", time.Since(began).Round(time.Millisecond))

	var booked []int
	for i, o := range out {
		switch {
		case o.err != nil:
			t.Errorf("patient %d: %v", i, o.err)
		case o.confirmed:
			booked = append(booked, i)
		case strings.TrimSpace(o.reason) == "":
			t.Errorf("patient %d was refused with no reason", i)
		}
	}
	if len(booked) != 1 {
		t.Fatalf("%d patients got CONFIRMED (%v), want exactly one", len(booked), booked)
	}
	winner := out[booked[0]]

	// Both replicas read the one booking, the winner's, from the bucket.
	day, err := uhiclient.ParseLocalTime(slot.Start)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range []*hubRun{h0, h1} {
		d, ok := h.hub.Desk(doctorA)
		if !ok {
			t.Fatalf("replica %d has no desk of %s", i, doctorA)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		orders, err := d.Day(ctx, day)
		cancel()
		var ids []string
		for _, o := range orders {
			if o.SlotID == slot.ID && o.State.Booked() {
				ids = append(ids, o.ID)
			}
		}
		if err != nil || len(ids) != 1 || ids[0] != winner.order {
			t.Errorf("replica %d reads the slot booked by %v (%v), want only %s", i, ids, err, winner.order)
		}
	}
}

// bucketLeader is the name of the NATS server that leads the bookings
// bucket's stream.
func bucketLeader(t *testing.T, h *hubRun) string {
	t.Helper()
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s, err := js.Stream(ctx, "KV_"+BookingBucket)
		if err == nil {
			if info, err := s.Info(ctx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				return info.Cluster.Leader
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the bucket's leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bookingOutcome is what a patient's app was answered.
type bookingOutcome struct {
	confirmed bool
	order     string
	reason    string // the refusal: error code and message, or the FAILED order's
	err       error  // no answer, or not one of the two
}

// bookOnce inits slot and, when it is held, confirms it, as a patient's
// app does, each callback waited for within a bound; answered is called
// once on_init came (or did not).
func bookOnce(e *euatest.EUA, slot euatest.Slot, answered func()) (o bookingOutcome) {
	const wait = 30 * time.Second
	refusal := func(cb map[string]any) string {
		return strings.TrimSpace(euatest.Str(cb, "error.code") + " " + euatest.Str(cb, "error.message"))
	}
	b, err := e.Init(slot)
	if err != nil {
		o.err = fmt.Errorf("init: %w", err)
		return o
	}
	m, err := e.WaitFor("on_init", b.TransactionID, wait)
	answered()
	if err != nil {
		o.err = fmt.Errorf("on_init: %w", err)
		return o
	}
	if why := refusal(m.JSON); why != "" {
		o.reason = why
		return o
	}
	if err := e.Confirm(b, m.JSON, ""); err != nil {
		o.err = fmt.Errorf("confirm: %w", err)
		return o
	}
	if m, err = e.WaitFor("on_confirm", b.TransactionID, wait); err != nil {
		o.err = fmt.Errorf("on_confirm: %w", err)
		return o
	}
	switch state := euatest.OrderState(m.JSON); {
	case state == uhiclient.StateConfirmed && refusal(m.JSON) == "":
		o.confirmed, o.order = true, b.OrderID
	case refusal(m.JSON) != "":
		o.reason = state + " " + refusal(m.JSON)
	default:
		o.err = fmt.Errorf("on_confirm in state %q with no reason", state)
	}
	return o
}
