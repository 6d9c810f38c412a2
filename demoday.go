package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"teleconsole/booking"
	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
)

// demoSchedule is the demo doctor's hours: both kinds of consultation
// around the clock, so that whenever the demo runs there are slots to
// book within minutes.
func demoSchedule(hpr, name string) (*booking.Plan, error) {
	return booking.Schedule{
		Doctor: booking.Profile{Name: name, HPR: hpr, Gender: "M", Speciality: "General Medicine", System: "ALLOPATHY",
			Languages: []string{"en", "hi", "mr"}, Education: "MBBS, MD (Medicine)", ExperienceYears: 12,
			Facility: booking.Facility{Name: "Borse Clinic (demo)", City: "Pune", State: "Maharashtra", Pincode: "411001"}},
		Services: map[string]booking.Service{
			"teleconsultation": {SlotMinutes: 15, Fee: "300", Hours: map[string][]string{"daily": {"00:00-24:00"}}},
			"physical":         {SlotMinutes: 20, Fee: "500", Hours: map[string][]string{"daily": {"00:00-24:00"}}},
		},
	}.Plan()
}

// seedDemoDay books, before the console opens, an appointment that began a
// quarter of an hour ago and whose patient has not come: the day has
// someone late. It is written to the store directly, as no patient's app
// could book a slot already started.
func seedDemoDay(store booking.Store, plan *booking.Plan) {
	ctx := context.Background()
	now := time.Now().In(plan.Zone())
	slots := plan.Slots(booking.KindTele, now.Add(-30*time.Minute), now)
	if len(slots) == 0 {
		return
	}
	s := slots[len(slots)-1]
	if now.Sub(s.Start) < 10*time.Minute && len(slots) > 1 {
		s = slots[len(slots)-2]
	}
	fee, _ := booking.ParseRupees(s.Fee)
	o := booking.Order{ID: "0000-000000-0001", TransactionID: "demo-late", Doctor: plan.Doctor().HPR, SlotID: s.ID,
		Kind: s.Kind, Start: s.Start, End: s.End, FulfillmentType: "Teleconsultation", Fee: fee, State: booking.StateConfirmed,
		Patient: booking.Patient{Address: "kiranshah1979@sbx", Name: "Kiran Shah", Gender: "F",
			ConsumerID: "teleconsole-patient", ConsumerURI: "http://127.0.0.1:9/api/v1"},
		Created: now.Add(-2 * time.Hour), Changed: now.Add(-2 * time.Hour)}
	if err := store.Claim(ctx, s.ID, o.ID, s.End, now); err != nil {
		return
	}
	_ = store.Keep(ctx, s.ID, o.ID)
	_, _ = store.PutOrder(ctx, o)
}

// demoBookers are the demo's patients who book over UHI before they come:
// one teleconsultation whose patient then waits in the waiting room, and
// two in-clinic visits later in the day.
func demoBookers() []simpatient.Config {
	return []simpatient.Config{
		{Name: "Sunita Kulkarni", Gender: "F", Address: "sunitakulkarni1975@sbx", Book: &simpatient.Book{Type: "Teleconsultation"}},
		{Name: "Rahul Verma", Gender: "M", Address: "rahulverma1990@sbx", Book: &simpatient.Book{Type: "Physical", After: time.Now().Add(time.Hour)}},
		{Name: "Farah Khan", Gender: "F", Address: "farahkhan1984@sbx", Book: &simpatient.Book{Type: "Physical", After: time.Now().Add(3 * time.Hour)}},
	}
}

// startBookers runs the demo's booking patients against the console at
// providerURI, a second apart from the start.
func startBookers(ctx context.Context, doctor, providerURI string, engine *call.Engine, client *uhiclient.Client, log *slog.Logger) {
	for i, c := range demoBookers() {
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(i+1) * time.Second):
			}
			c.Doctor, c.ConsoleURI, c.ReadyInterval, c.AnswerDelay, c.Rejoin = doctor, providerURI, 5*time.Second, 500*time.Millisecond, true
			plog := log.With("patient", c.Address)
			p, err := simpatient.New(c, engine, client, simpatient.WithLogger(plog), simpatient.WithEvents(func(e simpatient.Event) {
				plog.Info("simulated patient: " + e.Text)
			}))
			if err != nil {
				plog.Error("demo patient cannot start", "err", err)
				return
			}
			if err := p.Run(ctx); err != nil {
				plog.Error("demo patient stopped", "err", fmt.Sprint(err))
			}
		}()
	}
}
