package app

import (
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"teleconsole/booking"
	"teleconsole/internal/euatest"
	"teleconsole/record"
	"teleconsole/uhiclient"
)

// BenchmarkBooking measures what a patient's app waits for, over loopback
// HTTP with every request and callback signed and checked, against a
// console keeping its appointments in its record (SQLite) with thirty
// days of slots and a few hundred booked: a slot search (search posted
// to on_search received), and a whole booking (init posted to
// on_confirm received). It reports the median and the 99th percentile.
func BenchmarkBooking(b *testing.B) {
	gw := euatest.NewGateway(b)
	pub, priv, _ := uhiclient.GenerateKey(rand.Reader)
	gw.Register("teleconsole", "k1", pub)
	signer, _ := uhiclient.NewSigner(priv, "teleconsole", "k1")
	registry, _ := uhiclient.NewRegistry(gw.RegistryURL())
	verifier, _ := uhiclient.NewSignatureVerifier(registry)
	plan, err := booking.ParseSchedule([]byte(bookingSchedule))
	if err != nil {
		b.Fatal(err)
	}
	store, err := record.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	desk, _ := booking.NewDesk(plan, store.Bookings())
	// A month with bookings in it: 300 taken slots spread over the days.
	ctx := b.Context()
	free, _ := desk.Free(ctx, booking.KindUnknown, time.Now(), time.Now().Add(30*24*time.Hour))
	for i := 0; i < 300 && i*9 < len(free); i++ {
		o, err := desk.Init(ctx, booking.InitRequest{SlotID: free[i*9].ID, Patient: booking.Patient{Address: fmt.Sprintf("seed%d@sbx", i)}})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := desk.Confirm(ctx, booking.ConfirmRequest{OrderID: o.ID, Terms: agreedTerms(o)}); err != nil {
			b.Fatal(err)
		}
	}
	r := newConfigRig(b, func(c *Config) {
		c.Signer, c.Verifier = signer, verifier
		c.Booking = &Booking{Desk: desk, Gateway: gw.URL() + "/api/v1/uhi"}
		gw.AddHSPA(c.ProviderURI)
	})
	_ = r
	e := euatest.NewEUA(b, euatest.Config{SubscriberID: "eua-bench", UniqueKeyID: "k1", Flavour: euatest.Physical, Gateway: gw,
		Patient: euatest.Patient{ABHAAddress: "bench@sbx", Name: "Bench"}})
	txn, err := e.SearchDoctors(euatest.Filters{})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := e.Wait("on_search", txn)
	if err != nil || len(euatest.Doctors(cat)) == 0 {
		b.Fatalf("catalog: %v", err)
	}
	doc := euatest.Doctors(cat)[0]

	var search, book []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		txn, err := e.SearchSlots(doc, time.Now().AddDate(0, 0, i%30))
		if err != nil {
			b.Fatal(err)
		}
		cb, err := e.Wait("on_search", txn)
		if err != nil {
			b.Fatal(err)
		}
		search = append(search, time.Since(t0))
		slots := euatest.Slots(cb)
		if len(slots) == 0 {
			b.Fatal("no slot offered")
		}
		t0 = time.Now()
		bk, err := e.Init(slots[0])
		if err != nil {
			b.Fatal(err)
		}
		onInit, err := e.Wait("on_init", bk.TransactionID)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Confirm(bk, onInit, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Wait("on_confirm", bk.TransactionID); err != nil {
			b.Fatal(err)
		}
		book = append(book, time.Since(t0))
	}
	b.StopTimer()
	report := func(name string, d []time.Duration) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(d[min(len(d)-1, len(d)*99/100)].Microseconds())/1000, name+"-p99-ms")
	}
	report("search", search)
	report("booking", book)
}

func agreedTerms(o booking.Order) []booking.Term {
	ts := slices.Clone(o.Terms)
	for i := range ts {
		ts[i].State = booking.TermAgreed
	}
	return ts
}
