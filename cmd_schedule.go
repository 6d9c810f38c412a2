package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"teleconsole/booking"
	"teleconsole/record"
)

// exampleSchedule is what teleconsole schedule --example prints: a
// schedule to copy and edit (docs/booking.md §2).
const exampleSchedule = `{
  "doctor": {
    "name": "Dr Ganesh Borse",
    "hpr": "ganeshborse@hpr.ndhm",
    "gender": "M",
    "speciality": "General Medicine",
    "system": "ALLOPATHY",
    "languages": ["en", "hi", "mr"],
    "education": "MBBS, MD (Medicine)",
    "experience_years": 12,
    "facility": {"name": "Borse Clinic", "city": "Pune", "state": "Maharashtra", "pincode": "411001",
                 "address": "12 FC Road", "phone": "+91-20-2555-0101"}
  },
  "zone": "+05:30",
  "window_days": 30,
  "services": {
    "teleconsultation": {"slot_minutes": 15, "fee": "300", "hours": {"mon": ["09:00-12:00"], "wed": ["09:00-12:00"], "fri": ["14:00-17:00"]}},
    "physical": {"slot_minutes": 20, "fee": "500", "hours": {"mon": ["17:00-20:00"], "tue": ["10:00-13:00", "17:00-20:00"], "thu": ["10:00-13:00"], "sat": ["10:00-13:00"]}}
  },
  "breaks": {"daily": ["11:00-11:15"]},
  "days_off": ["2026-12-25"]
}
`

// runSchedule shows the doctor's schedule and sets or changes it.
func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole schedule", "usage: teleconsole schedule [--days N]\n"+
		"       teleconsole schedule --set FILE\n"+
		"       teleconsole schedule --block DATE | --unblock DATE\n"+
		"       teleconsole schedule --example\n\n"+
		"The doctor's hours, which patients book over UHI (docs/booking.md): shows the\n"+
		"schedule and the days ahead, sets it from a JSON file (--example prints one to\n"+
		"edit), or takes a day off and gives it back. A running console picks up the\n"+
		"change within a minute.", stderr)
	var d dataFlags
	d.register(fs)
	set := fs.String("set", "", "check the schedule in `FILE` and make it the doctor's")
	block := fs.String("block", "", "take `DATE` (YYYY-MM-DD) off: no new bookings that day")
	unblock := fs.String("unblock", "", "give `DATE` back")
	example := fs.Bool("example", false, "print an example schedule to edit")
	days := fs.Int("days", 7, "how many days ahead to show")
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	if *example {
		fmt.Fprint(stdout, exampleSchedule)
		return 0
	}
	dir, err := d.dir()
	if err != nil {
		return fail(stderr, err)
	}
	switch {
	case *set != "":
		b, err := os.ReadFile(*set)
		if err != nil {
			return fail(stderr, err)
		}
		p, err := booking.ParseSchedule(b)
		if err != nil {
			return fail(stderr, fmt.Errorf("%s: %w", *set, err))
		}
		if _, err := record.SaveSchedule(dir, p.Schedule()); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "schedule set for %s\n\n", p.Doctor().Name)
	case *block != "" || *unblock != "":
		p, _, err := record.LoadSchedule(dir)
		if err != nil {
			return fail(stderr, err)
		}
		date, add := *unblock, false
		if *block != "" {
			date, add = *block, true
		}
		day, err := time.ParseInLocation(time.DateOnly, date, p.Zone())
		if err != nil {
			fmt.Fprintf(stderr, "teleconsole schedule: %q is not a date (YYYY-MM-DD)\n", date)
			return 2
		}
		s := p.Schedule()
		s.DaysOff = slices.DeleteFunc(slices.Clone(s.DaysOff), func(x string) bool { return x == date })
		if add {
			s.DaysOff = append(s.DaysOff, date)
			sort.Strings(s.DaysOff)
		}
		if _, err := record.SaveSchedule(dir, s); err != nil {
			return fail(stderr, err)
		}
		if add {
			fmt.Fprintf(stdout, "%s is off: no new bookings that day\n", date)
			if booked := bookedOn(ctx, &d, p, day); len(booked) > 0 {
				fmt.Fprintf(stdout, "%d appointment(s) that day remain booked; cancel them from the console's day so the patients are told:\n", len(booked))
				for _, o := range booked {
					fmt.Fprintf(stdout, "  %s  %-6s %s\n", o.Start.Format("15:04"), o.Kind.Short(), o.Patient.Name)
				}
			}
		} else {
			fmt.Fprintf(stdout, "%s is a working day again\n", date)
		}
		return 0
	}
	p, _, err := record.LoadSchedule(dir)
	if errors.Is(err, record.ErrNoSchedule) {
		fmt.Fprintf(stderr, "teleconsole schedule: %v: patients cannot book the doctor yet.\n"+
			"Write one (teleconsole schedule --example > schedule.json, then edit it) and set it\n"+
			"with teleconsole schedule --set schedule.json\n", err)
		return 1
	}
	if err != nil {
		return fail(stderr, err)
	}
	printSchedule(ctx, stdout, &d, p, *days)
	return 0
}

// bookedOn lists the appointments booked on day, read from the record
// beside a running console; none when the record cannot be read.
func bookedOn(ctx context.Context, d *dataFlags, p *booking.Plan, day time.Time) []booking.Order {
	store, err := d.openStore(record.Shared())
	if err != nil {
		return nil
	}
	defer store.Close()
	desk, err := booking.NewDesk(p, store.Bookings())
	if err != nil {
		return nil
	}
	orders, err := desk.Day(ctx, day)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(orders, func(o booking.Order) bool { return o.State.Final() })
}

// printSchedule writes the schedule and the days ahead: for each day its
// slots of each kind, and how many are booked.
func printSchedule(ctx context.Context, w io.Writer, d *dataFlags, p *booking.Plan, days int) {
	s, doc := p.Schedule(), p.Doctor()
	fmt.Fprintf(w, "%s  %s", doc.Name, doc.HPR)
	if doc.Speciality != "" {
		fmt.Fprintf(w, "  %s", doc.Speciality)
	}
	fmt.Fprintf(w, "\nbookable %d days ahead, times at UTC%s\n", int(p.Window().Hours()/24), p.ZoneOffset())
	for _, k := range booking.Kinds() {
		if !p.Offers(k) {
			continue
		}
		var svc booking.Service
		for name, v := range s.Services {
			if booking.ParseKind(name) == k {
				svc = v
			}
		}
		length := svc.SlotMinutes
		if length == 0 {
			length = booking.DefaultSlotMinutes
		}
		fmt.Fprintf(w, "\n%s: %d-minute slots, fee INR %s\n", k, length, p.Fee(k))
		for _, line := range hoursLines(svc.Hours) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(s.Breaks) > 0 {
		fmt.Fprintf(w, "\nbreaks:\n")
		for _, line := range hoursLines(s.Breaks) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(s.DaysOff) > 0 {
		fmt.Fprintf(w, "\ndays off: %s\n", strings.Join(s.DaysOff, ", "))
	}
	var desk *booking.Desk
	if store, err := d.openStore(record.Shared()); err == nil {
		defer store.Close()
		desk, _ = booking.NewDesk(p, store.Bookings())
	}
	fmt.Fprintf(w, "\n%-16s %s\n", "day", "slots (booked)")
	today := time.Now().In(p.Zone())
	for i := range max(days, 0) {
		day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, p.Zone()).AddDate(0, 0, i)
		line := day.Format("Mon 2006-01-02")
		if p.Off(day) {
			fmt.Fprintf(w, "%-16s off\n", line)
			continue
		}
		booked := map[booking.Kind]int{}
		if desk != nil {
			if orders, err := desk.Day(ctx, day); err == nil {
				for _, o := range orders {
					if o.State != booking.StateCancelled {
						booked[o.Kind]++
					}
				}
			}
		}
		var parts []string
		for _, k := range booking.Kinds() {
			if n := len(p.Slots(k, day, day.AddDate(0, 0, 1))); n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d (%d)", k.Short(), n, booked[k]))
			}
		}
		if len(parts) == 0 {
			parts = []string{"no hours"}
		}
		fmt.Fprintf(w, "%-16s %s\n", line, strings.Join(parts, ", "))
	}
}

// hoursLines writes a day-keyed map of times as lines, Monday first.
func hoursLines(m map[string][]string) []string {
	order := []string{"daily", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		k = strings.ToLower(k)
		for i, o := range order {
			if strings.HasPrefix(k, o) {
				return i
			}
		}
		return len(order)
	}
	sort.Slice(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%-5s %s", k, strings.Join(m[k], ", ")))
	}
	return out
}
