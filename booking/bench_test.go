package booking

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hospital is 500 doctors on one store, four specialities, with 30 days
// of slots each and a hundred of them booked (written to the store
// directly: the set-up is not what is measured).
func hospital(b *testing.B) []*Desk {
	b.Helper()
	ctx := context.Background()
	store := NewMemoryStore()
	specialities := []string{"General Medicine", "Cardiology", "Paediatrics", "Dermatology"}
	now := time.Now()
	var desks []*Desk
	for i := range 500 {
		sched := strings.NewReplacer("DOC", fmt.Sprintf("dr%d@hpr.ndhm", i), "SPEC", specialities[i%4]).Replace(`{
  "doctor": {"name": "Dr DOC", "hpr": "DOC", "speciality": "SPEC"},
  "services": {"teleconsultation": {"slot_minutes": 15, "fee": "300", "hours": {"mon": ["09:00-13:00"], "tue": ["09:00-13:00"], "wed": ["09:00-13:00"], "thu": ["09:00-13:00"], "fri": ["14:00-18:00"]}},
               "physical": {"slot_minutes": 20, "fee": "500", "hours": {"daily": ["17:00-20:00"]}}},
  "breaks": {"daily": ["11:00-11:15"]}
}`)
		p, err := ParseSchedule([]byte(sched))
		if err != nil {
			b.Fatal(err)
		}
		d, _ := NewDesk(p, store)
		slots := p.Slots(KindUnknown, now, now.Add(30*24*time.Hour))
		for j := 0; j < 100 && j*3 < len(slots); j++ {
			s := slots[j*3]
			id := fmt.Sprintf("%04d-%06d-0000", i, j)
			_ = store.Claim(ctx, s.ID, id, time.Time{}, now)
			_ = store.Keep(ctx, s.ID, id)
			if _, err := store.PutOrder(ctx, Order{ID: id, Doctor: p.Doctor().HPR, SlotID: s.ID, Kind: s.Kind, Start: s.Start,
				End: s.End, State: StateConfirmed, Patient: Patient{Address: id + "@sbx"}}); err != nil {
				b.Fatal(err)
			}
		}
		desks = append(desks, d)
	}
	return desks
}

// BenchmarkHospital500Doctors measures, for a hospital of 500 doctors,
// the catalog of a search for a speciality (the doctors who match and
// offer teleconsultation, with their fee: the first on_search), and one
// doctor's free slots over 30 days (the second).
func BenchmarkHospital500Doctors(b *testing.B) {
	desks := hospital(b)
	ctx := context.Background()
	b.Run("catalog", func(b *testing.B) {
		for b.Loop() {
			listed := 0
			for _, d := range desks {
				p := d.Plan()
				if strings.EqualFold(p.Doctor().Speciality, "cardiology") && p.Offers(KindTele) && p.Fee(KindTele) != "" {
					listed++
				}
			}
			if listed != 125 {
				b.Fatalf("%d cardiologists listed, want 125", listed)
			}
		}
	})
	b.Run("slots-30-days", func(b *testing.B) {
		d := desks[137]
		for b.Loop() {
			free, err := d.Free(ctx, KindTele, time.Now(), time.Now().Add(30*24*time.Hour))
			if err != nil || len(free) < 200 {
				b.Fatalf("%d free slots, %v", len(free), err)
			}
		}
	})
}
