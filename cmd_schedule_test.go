package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"teleconsole/booking"
	"teleconsole/record"
)

func TestScheduleCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	none := runMain(t, "schedule", "--data-dir", dir)
	if none.code != 1 || !strings.Contains(none.stderr, "no schedule set") || !strings.Contains(none.stderr, "--example") {
		t.Fatalf("no schedule: %+v", none)
	}
	file := filepath.Join(t.TempDir(), "s.json")
	ex := runMain(t, "schedule", "--example")
	if err := os.WriteFile(file, []byte(ex.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if set := runMain(t, "schedule", "--data-dir", dir, "--set", file); set.code != 0 || !strings.Contains(set.stdout, "schedule set for Dr Ganesh Borse") {
		t.Fatalf("set the example: %+v", set)
	}
	if fi, err := os.Stat(filepath.Join(dir, record.ScheduleFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("schedule file: %v %v", fi, err)
	}

	// A bad file is refused, naming the fault, and the schedule in force stays.
	bad := strings.Replace(ex.stdout, `"fee": "300"`, `"fee": "three hundred"`, 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	refused := runMain(t, "schedule", "--data-dir", dir, "--set", file)
	if refused.code != 1 || !strings.Contains(refused.stderr, "services.teleconsultation.fee") {
		t.Fatalf("bad fee: %+v", refused)
	}
	if p, _, err := record.LoadSchedule(dir); err != nil || p.Fee(booking.KindTele) != "300" {
		t.Fatalf("the schedule in force after a refused one: %v", err)
	}

	// A day off with an appointment booked names it.
	p, _, _ := record.LoadSchedule(dir)
	day := nextWeekday(time.Now().In(p.Zone()), time.Monday)
	s, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	desk, _ := booking.NewDesk(p, s.Bookings())
	slot := p.Slots(booking.KindTele, day, day.AddDate(0, 0, 1))[0]
	o, err := desk.Init(context.Background(), booking.InitRequest{SlotID: slot.ID, Patient: booking.Patient{Address: "asha@sbx", Name: "Asha K"}})
	if err == nil {
		_, _, err = desk.Confirm(context.Background(), booking.ConfirmRequest{OrderID: o.ID, Who: booking.Who{Address: "asha@sbx"}})
	}
	_ = s.Close()
	if err != nil {
		t.Fatal(err)
	}
	date := day.Format(time.DateOnly)
	blocked := runMain(t, "schedule", "--data-dir", dir, "--block", date)
	if blocked.code != 0 || !strings.Contains(blocked.stdout, date+" is off") || !strings.Contains(blocked.stdout, "Asha K") {
		t.Fatalf("block: %+v", blocked)
	}
	show := runMain(t, "schedule", "--data-dir", dir, "--days", "8")
	if show.code != 0 || !strings.Contains(show.stdout, day.Format("Mon 2006-01-02")+"   off") {
		t.Fatalf("show after block: %+v", show)
	}
	if un := runMain(t, "schedule", "--data-dir", dir, "--unblock", date); un.code != 0 {
		t.Fatalf("unblock: %+v", un)
	}
	show = runMain(t, "schedule", "--data-dir", dir, "--days", "8")
	if !strings.Contains(show.stdout, day.Format("Mon 2006-01-02")+"   video 11 (1), clinic 9 (0)") {
		t.Errorf("the day given back, with its booking counted:\n%s", show.stdout)
	}
	if r := runMain(t, "schedule", "--data-dir", dir, "--block", "next monday"); r.code != 2 {
		t.Errorf("a bad date: %+v", r)
	}
}

// nextWeekday is the start of the next wd after t (never t's own day).
func nextWeekday(t time.Time, wd time.Weekday) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location()).AddDate(0, 0, 1)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d
}
