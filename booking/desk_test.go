package booking

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSchedule = `{
  "doctor": {"name": "Dr Ganesh Borse", "hpr": "ganeshborse@hpr.ndhm", "gender": "M",
             "speciality": "General Medicine", "system": "ALLOPATHY", "languages": ["en", "hi"]},
  "services": {
    "teleconsultation": {"slot_minutes": 15, "fee": "500", "hours": {"mon": ["09:00-10:00"], "tue": ["09:00-10:00"]}},
    "physical": {"slot_minutes": 30, "fee": "700.50", "hours": {"daily": ["17:00-19:00"]}}
  },
  "breaks": {"daily": ["09:30-09:45"]},
  "days_off": ["2026-12-09"]
}`

// monday is 2026-12-07 08:00 IST, a Monday.
var monday = time.Date(2026, 12, 7, 8, 0, 0, 0, time.FixedZone("IST", 19800))

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestDesk(t *testing.T, store Store) (*Desk, *fakeClock) {
	t.Helper()
	return newSeededDesk(t, store, 7)
}

func newSeededDesk(t *testing.T, store Store, seed byte) (*Desk, *fakeClock) {
	t.Helper()
	p, err := ParseSchedule([]byte(testSchedule))
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: monday}
	d, err := NewDesk(p, store, WithClock(clk.now), WithRand(rand.NewChaCha8([32]byte{seed})))
	if err != nil {
		t.Fatal(err)
	}
	return d, clk
}

func TestSlotsFollowHoursBreaksAndDaysOff(t *testing.T) {
	d, _ := newTestDesk(t, NewMemoryStore())
	day := func(n int) time.Time { return monday.Add(-8*time.Hour).AddDate(0, 0, n) }
	var got []string
	for _, s := range d.Plan().Slots(KindUnknown, day(0), day(1)) {
		got = append(got, s.Kind.Short()+" "+s.Start.Format("15:04")+"-"+s.End.Format("15:04"))
	}
	want := "video 09:00-09:15,video 09:15-09:30,video 09:45-10:00,clinic 17:00-17:30,clinic 17:30-18:00,clinic 18:00-18:30,clinic 18:30-19:00"
	if strings.Join(got, ",") != want {
		t.Errorf("monday's slots:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	if n := len(d.Plan().Slots(KindUnknown, day(2), day(3))); n != 0 {
		t.Errorf("the day off has %d slots", n)
	}
	if n := len(d.Plan().Slots(KindTele, day(3), day(4))); n != 0 {
		t.Errorf("thursday has %d teleconsultation slots, none in the hours", n)
	}
	a := d.Plan().Slots(KindTele, day(0), day(1))[0]
	if a.ID != SlotID("ganeshborse@hpr.ndhm", KindTele, a.Start) || len(a.ID) != 36 {
		t.Errorf("slot id %q is not the stable UUID of its doctor, kind and start", a.ID)
	}
	if a.Fee != "500" {
		t.Errorf("fee %q", a.Fee)
	}
}

func TestScheduleFaultsNamed(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{`"hours": {"mon": ["09:00-10:00"], "tue"`, ""},
		{`"fee": "500"`, `services.teleconsultation.fee`},
		{`"09:30-09:45"`, `breaks.daily[0]`},
		{`"2026-12-09"`, `days_off[0]`},
		{`"slot_minutes": 15`, `services.teleconsultation.slot_minutes`},
		{`"mon": ["09:00-10:00"]`, `services.teleconsultation.hours.mon[0]`},
	} {
		bad := map[string]string{
			`"fee": "500"`:                            `"fee": "five hundred"`,
			`"09:30-09:45"`:                           `"09:45-09:30"`,
			`"2026-12-09"`:                            `"9 Dec"`,
			`"slot_minutes": 15`:                      `"slot_minutes": 2`,
			`"mon": ["09:00-10:00"]`:                  `"mon": ["9-10"]`,
			`"hours": {"mon": ["09:00-10:00"], "tue"`: `"hours": {"mon": ["09:00-10:00"], "tue"`,
		}[tc.edit]
		_, err := ParseSchedule([]byte(strings.Replace(testSchedule, tc.edit, bad, 1)))
		if tc.want == "" {
			if err != nil {
				t.Errorf("unchanged schedule refused: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrBadSchedule naming %s", bad, err, tc.want)
		}
	}
	if _, err := ParseSchedule([]byte(`{"doctor": {"name": "x", "hpr": "x@hpr"}, "services": {"surgery": {"fee": "1", "hours": {}}}}`)); err == nil || !strings.Contains(err.Error(), "services.surgery") {
		t.Errorf("an unknown kind: %v", err)
	}
	if _, err := ParseSchedule([]byte(`{"doctor": {"name": "x", "hpr": "x@hpr"}, "servces": {}}`)); err == nil {
		t.Error("a misspelt key was taken")
	}
}

func patient(n int) Patient {
	return Patient{Address: fmt.Sprintf("p%d@sbx", n), Name: fmt.Sprintf("Patient %d", n), ConsumerID: "eua", ConsumerURI: "http://127.0.0.1:1/api/v1"}
}

func agreeAll(o Order) []Term {
	ts := append([]Term(nil), o.Terms...)
	for i := range ts {
		ts[i].State = TermAgreed
	}
	return ts
}

func TestBookingLifecycleInClinic(t *testing.T) {
	ctx := context.Background()
	d, clk := newTestDesk(t, NewMemoryStore())
	free, err := d.Free(ctx, KindPhysical, monday, monday.Add(24*time.Hour))
	if err != nil || len(free) != 4 {
		t.Fatalf("free clinic slots today: %d, %v", len(free), err)
	}
	o, err := d.Init(ctx, InitRequest{SlotID: free[1].ID, Kind: KindPhysical, TransactionID: "t1", Patient: patient(1)})
	if err != nil {
		t.Fatal(err)
	}
	if o.State != StateHeld || len(o.Terms) != 5 || o.Fee != 70050 {
		t.Fatalf("held order: %+v", o)
	}
	if again, err := d.Init(ctx, InitRequest{SlotID: free[1].ID, TransactionID: "t1", Patient: patient(1)}); err != nil || again.ID != o.ID {
		t.Errorf("a repeated init made another order: %v %v", again.ID, err)
	}
	if left, _ := d.Free(ctx, KindPhysical, monday, monday.Add(24*time.Hour)); len(left) != 3 {
		t.Errorf("a held slot is still listed free: %d free", len(left))
	}
	if _, err := d.Init(ctx, InitRequest{SlotID: free[1].ID, TransactionID: "t2", Patient: patient(2)}); !errors.Is(err, ErrSlotTaken) {
		t.Errorf("second patient's init of a held slot: %v", err)
	}
	terms := agreeAll(o)
	terms[2].State = TermInitiated
	if _, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: o.ID, Who: Who{Address: "p1@sbx"}, Terms: terms}); !errors.Is(err, ErrTermsNotAgreed) || !strings.Contains(err.Error(), "Cancellation") {
		t.Errorf("confirm with a term not agreed: %v", err)
	}
	if _, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: o.ID, Who: Who{Address: "p1@sbx"}}); !errors.Is(err, ErrTermsNotAgreed) {
		t.Errorf("an in-clinic confirm without terms: %v", err)
	}
	if _, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: o.ID, Who: Who{Address: "p2@sbx"}, Terms: agreeAll(o)}); !errors.Is(err, ErrNotYours) {
		t.Errorf("confirm of someone else's order: %v", err)
	}
	if got, _ := d.Order(ctx, o.ID); got.State != StateHeld {
		t.Fatalf("refused confirms changed the order to %s", got.State)
	}
	c, pin, err := d.Confirm(ctx, ConfirmRequest{OrderID: o.ID, Who: Who{Address: "p1@sbx"}, Terms: agreeAll(o)})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != StateConfirmed || len(pin) != 4 || c.PINStatus != PINGenerated || strings.Contains(c.PINHash, pin) {
		t.Fatalf("confirmed: state %s, pin %q, status %v, hash %q", c.State, pin, c.PINStatus, c.PINHash)
	}
	if c.PINValidTo.Format("2006-01-02 15:04") != "2026-12-07 23:59" {
		t.Errorf("PIN valid to %s, want the end of the appointment day", c.PINValidTo)
	}
	wrong := fmt.Sprintf("%04d", (atoi(pin)+1)%10000)
	if _, err := d.CheckIn(ctx, o.ID, wrong); !errors.Is(err, ErrBadPIN) {
		t.Errorf("check-in with a wrong PIN: %v", err)
	}
	if _, err := d.Complete(ctx, o.ID); !errors.Is(err, ErrBadState) {
		t.Errorf("completed before arriving: %v", err)
	}
	clk.add(9 * time.Hour)
	if a, err := d.CheckIn(ctx, o.ID, pin); err != nil || a.State != StateArrived || a.PINStatus != PINVerified {
		t.Fatalf("check-in: %v %+v", err, a)
	}
	if s, err := d.Start(ctx, o.ID); err != nil || s.State.Wire() != "APPOINTMENT_STARTED" {
		t.Fatalf("start: %v %s", err, s.State)
	}
	if _, err := d.Cancel(ctx, o.ID, Who{Address: "p1@sbx"}, CancelledByPatient, "PATIENT_HEALTH_IMPROVED"); !errors.Is(err, ErrBadState) {
		t.Errorf("cancel of a visit in progress: %v", err)
	}
	if s, err := d.Complete(ctx, o.ID); err != nil || s.State.Wire() != "COMPLETED" {
		t.Fatalf("complete: %v %s", err, s.State)
	}
	day, err := d.Day(ctx, monday)
	if err != nil || len(day) != 1 || day[0].State != StateCompleted {
		t.Errorf("the day: %v %+v", err, day)
	}
}

func atoi(s string) int { n := 0; fmt.Sscan(s, &n); return n }

func TestHoldLapsesAndTheSlotGoesToTheNextPatient(t *testing.T) {
	ctx := context.Background()
	d, clk := newTestDesk(t, NewMemoryStore())
	free, _ := d.Free(ctx, KindTele, monday, monday.Add(24*time.Hour))
	first, err := d.Init(ctx, InitRequest{SlotID: free[0].ID, TransactionID: "t1", Patient: patient(1)})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(HoldFor - time.Second)
	if _, err := d.Init(ctx, InitRequest{SlotID: free[0].ID, TransactionID: "t2", Patient: patient(2)}); !errors.Is(err, ErrSlotTaken) {
		t.Fatalf("taken a second before the hold lapses: %v", err)
	}
	clk.add(2 * time.Second)
	if got, _ := d.Order(ctx, first.ID); got.State != StateLapsed {
		t.Errorf("a lapsed hold reads %s", got.State)
	}
	second, err := d.Init(ctx, InitRequest{SlotID: free[0].ID, TransactionID: "t2", Patient: patient(2)})
	if err != nil {
		t.Fatalf("init after the hold lapsed: %v", err)
	}
	if _, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: first.ID, Who: Who{Address: "p1@sbx"}}); !errors.Is(err, ErrHoldExpired) {
		t.Errorf("the first patient's late confirm: %v", err)
	}
	if got, _ := d.Order(ctx, first.ID); got.State != StateLapsed {
		t.Errorf("the late confirm left the order %s", got.State)
	}
	if c, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: second.ID, Who: Who{Address: "p2@sbx"}}); err != nil || c.State != StateConfirmed {
		t.Errorf("the second patient's confirm: %v", err)
	}
	if _, err := d.Init(ctx, InitRequest{SlotID: "00000000-0000-0000-0000-000000000000", Patient: patient(3)}); !errors.Is(err, ErrNoSlot) {
		t.Errorf("an unknown slot: %v", err)
	}
	clk.add(2 * time.Hour)
	if _, err := d.Init(ctx, InitRequest{SlotID: free[1].ID, Patient: patient(3)}); !errors.Is(err, ErrSlotPast) {
		t.Errorf("a past slot: %v", err)
	}
}

func TestCancelFreesTheSlotAndChecksWho(t *testing.T) {
	ctx := context.Background()
	d, _ := newTestDesk(t, NewMemoryStore())
	free, _ := d.Free(ctx, KindTele, monday, monday.Add(24*time.Hour))
	o, _ := d.Init(ctx, InitRequest{SlotID: free[0].ID, TransactionID: "t1", Patient: patient(1)})
	if _, _, err := d.Confirm(ctx, ConfirmRequest{OrderID: o.ID, Who: Who{Address: "p1@sbx"}, ChatKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Cancel(ctx, o.ID, Who{Address: "p2@sbx"}, CancelledByPatient, "PATIENT_OTHER"); !errors.Is(err, ErrNotYours) {
		t.Errorf("cancel by another patient: %v", err)
	}
	if _, err := d.Cancel(ctx, o.ID, Who{Address: "p1@sbx"}, CancelledByPatient, "DOCTOR_UNAVAILABLE"); !errors.Is(err, ErrBadReason) {
		t.Errorf("a patient cancelling with a doctor's code: %v", err)
	}
	if got, _ := d.Order(ctx, o.ID); got.State != StateConfirmed || got.Patient.ChatKey != "k1" {
		t.Fatalf("refused cancels changed the order: %s", got.State)
	}
	if ex, ok := d.Expected(ctx, "t1"); !ok || ex.ID != o.ID {
		t.Errorf("the booked patient's READY is not expected: %v", ok)
	}
	c, err := d.Cancel(ctx, o.ID, Who{}, CancelledByDoctor, "DOCTOR_OTHER: called to theatre")
	if err != nil || c.CancelledBy != "doctor" || c.CancelReason != "DOCTOR_OTHER: called to theatre" {
		t.Fatalf("doctor's cancel: %v %+v", err, c)
	}
	if _, err := d.Init(ctx, InitRequest{SlotID: free[0].ID, TransactionID: "t3", Patient: patient(3)}); err != nil {
		t.Errorf("the cancelled slot is not free: %v", err)
	}
}
