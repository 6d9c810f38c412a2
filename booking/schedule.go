package booking

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of a schedule.
const (
	// DefaultWindowDays is how many days ahead slots can be booked.
	DefaultWindowDays = 30
	// DefaultSlotMinutes is a slot's length when a service gives none.
	DefaultSlotMinutes = 15
	// HoldFor is how long init holds a slot for its patient without a
	// confirm (docs/booking.md §2).
	HoldFor = 15 * time.Minute
	// DefaultZone is India Standard Time, the zone of UHI's local slot
	// times (docs/booking.md §2). A fixed offset: India has no daylight
	// saving, and it needs no time zone database on the machine.
	DefaultZone = "+05:30"
)

// Schedule is when and how a doctor sees patients: who the doctor is (as
// the catalog shows it), the weekly hours of each kind of consultation,
// breaks and days off. It is kept by the doctor or the clinic as a JSON
// file (teleconsole schedule); the zero value has no hours.
type Schedule struct {
	// Doctor is the doctor's profile, as patients' apps show it.
	Doctor Profile `json:"doctor"`
	// Zone is the UTC offset of the hours, "+05:30" by default.
	Zone string `json:"zone,omitempty"`
	// WindowDays is how many days ahead can be booked (default 30).
	WindowDays int `json:"window_days,omitempty"`
	// Services are the hours, length and fee of each kind of consultation,
	// keyed by Kind.String ("teleconsultation", "physical").
	Services map[string]Service `json:"services"`
	// Breaks are times in every working day when no slot starts, by day
	// ("mon" ... "sun", or "daily" for every day): "13:00-14:00".
	Breaks map[string][]string `json:"breaks,omitempty"`
	// DaysOff are dates ("2026-12-25") with no slots at all.
	DaysOff []string `json:"days_off,omitempty"`
}

// Profile is the doctor as the catalog describes them (docs/booking.md §2).
type Profile struct {
	// Name is the doctor's name as patients see it: "Dr Ganesh Borse".
	Name string `json:"name"`
	// HPR is the doctor's HPR address, the catalog's agent id.
	HPR string `json:"hpr"`
	// HPRID is the doctor's HPR id number, when it differs from HPR.
	HPRID string `json:"hpr_id,omitempty"`
	// Gender is "M", "F" or "O".
	Gender string `json:"gender,omitempty"`
	// Image is a URL of the doctor's photo.
	Image string `json:"image,omitempty"`
	// Speciality is shown to patients: "General Medicine".
	Speciality string `json:"speciality,omitempty"`
	// SpecialityCode is the catalog's category code, when one is used.
	SpecialityCode string `json:"speciality_code,omitempty"`
	// System is the system of medicine: "ALLOPATHY", "AYURVEDA"...
	System string `json:"system,omitempty"`
	// Languages the doctor consults in.
	Languages []string `json:"languages,omitempty"`
	// Education: "MBBS, MD (Medicine)".
	Education string `json:"education,omitempty"`
	// ExperienceYears is years of practice.
	ExperienceYears int `json:"experience_years,omitempty"`
	// UPI is the doctor's UPI id for fees, when the clinic gives one.
	UPI string `json:"upi_id,omitempty"`
	// Facility is where the doctor practises.
	Facility Facility `json:"facility"`
}

// Facility is the clinic or hospital of a profile.
type Facility struct {
	// Name of the facility.
	Name string `json:"name,omitempty"`
	// HFR is its Health Facility Registry id.
	HFR string `json:"hfr_id,omitempty"`
	// HIP is its Health Information Provider id.
	HIP string `json:"hip_id,omitempty"`
	// Address, City, State and Pincode locate it.
	Address string `json:"address,omitempty"`
	City    string `json:"city,omitempty"`
	State   string `json:"state,omitempty"`
	Pincode string `json:"pincode,omitempty"`
	// GPS is "lat,lon".
	GPS string `json:"gps,omitempty"`
	// Phone is the facility's helpline.
	Phone string `json:"phone,omitempty"`
}

// Service is one kind of consultation's hours, slot length and fee.
type Service struct {
	// SlotMinutes is each slot's length (default 15).
	SlotMinutes int `json:"slot_minutes,omitempty"`
	// Fee is the price in rupees, "500" or "500.00".
	Fee string `json:"fee"`
	// FollowUpFee is the price of a follow-up, when it differs.
	FollowUpFee string `json:"follow_up_fee,omitempty"`
	// Hours are the working times by day ("mon" ... "sun", or "daily"):
	// "09:00-13:00".
	Hours map[string][]string `json:"hours"`
}

// Slot is one bookable time of one kind of consultation with the doctor.
type Slot struct {
	// ID is stable: the same doctor, kind and start make the same ID on
	// every replica and after every restart (SlotID).
	ID string
	// Kind of consultation.
	Kind Kind
	// Start and End in the schedule's zone.
	Start, End time.Time
	// Fee in rupees, as the schedule gives it.
	Fee string
}

// span is a time of day in minutes since midnight, [from, to).
type span struct{ from, to int }

// Plan is a Schedule checked and made ready to produce slots.
type Plan struct {
	sched    Schedule
	zone     *time.Location
	window   int
	services map[Kind]plannedService
	breaks   [7][]span
	off      map[string]bool
}

type plannedService struct {
	length time.Duration
	fee    string
	hours  [7][]span
}

// weekday reads a day's name by its first three letters: "mon", "Monday".
func weekday(name string) (time.Weekday, bool) {
	if len(name) < 3 {
		return 0, false
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(name[:3], d.String()[:3]) {
			return d, true
		}
	}
	return 0, false
}

// ParseSchedule reads a schedule file's JSON and checks it (Schedule.Plan).
func ParseSchedule(b []byte) (*Plan, error) {
	var s Schedule
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields() // a misspelt key would be silently no hours
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSchedule, err)
	}
	return s.Plan()
}

// Plan checks the schedule and returns it ready to produce slots. Every
// fault is an ErrBadSchedule naming its place in the file.
func (s Schedule) Plan() (*Plan, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadSchedule, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(s.Doctor.HPR) == "" {
		return nil, bad("doctor.hpr: the doctor's HPR address is required")
	}
	if strings.TrimSpace(s.Doctor.Name) == "" {
		return nil, bad("doctor.name: the doctor's name is required")
	}
	p := &Plan{sched: s, window: s.WindowDays, services: map[Kind]plannedService{}, off: map[string]bool{}}
	if p.window == 0 {
		p.window = DefaultWindowDays
	}
	if p.window < 1 || p.window > 366 {
		return nil, bad("window_days: %d is not 1 to 366", s.WindowDays)
	}
	zone := s.Zone
	if zone == "" {
		zone = DefaultZone
	}
	loc, err := parseZone(zone)
	if err != nil {
		return nil, bad("zone: %v", err)
	}
	p.zone = loc
	for name, svc := range s.Services {
		k := ParseKind(name)
		if k == KindUnknown {
			return nil, bad("services.%s: not a kind of consultation (teleconsultation or physical)", name)
		}
		if _, dup := p.services[k]; dup {
			return nil, bad("services.%s: %s is given twice", name, k)
		}
		ps := plannedService{length: time.Duration(svc.SlotMinutes) * time.Minute, fee: svc.Fee}
		if svc.SlotMinutes == 0 {
			ps.length = DefaultSlotMinutes * time.Minute
		}
		if ps.length < 5*time.Minute || ps.length > 4*time.Hour {
			return nil, bad("services.%s.slot_minutes: %d is not 5 to 240", name, svc.SlotMinutes)
		}
		if _, err := ParseRupees(svc.Fee); err != nil {
			return nil, bad("services.%s.fee: %v", name, err)
		}
		if svc.FollowUpFee != "" {
			if _, err := ParseRupees(svc.FollowUpFee); err != nil {
				return nil, bad("services.%s.follow_up_fee: %v", name, err)
			}
		}
		if ps.hours, err = weekSpans(svc.Hours); err != nil {
			return nil, bad("services.%s.hours.%v", name, err)
		}
		p.services[k] = ps
	}
	if len(p.services) == 0 {
		return nil, bad("services: no kind of consultation has hours")
	}
	if p.breaks, err = weekSpans(s.Breaks); err != nil {
		return nil, bad("breaks.%v", err)
	}
	for i, d := range s.DaysOff {
		t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(d), loc)
		if err != nil {
			return nil, bad("days_off[%d]: %q is not a date (YYYY-MM-DD)", i, d)
		}
		p.off[t.Format(time.DateOnly)] = true
	}
	return p, nil
}

// parseZone reads "+05:30", "-03:00", "UTC" or "Z".
func parseZone(z string) (*time.Location, error) {
	z = strings.TrimSpace(z)
	if strings.EqualFold(z, "UTC") || z == "Z" {
		return time.UTC, nil
	}
	t, err := time.Parse("-07:00", z)
	if err != nil {
		return nil, fmt.Errorf("%q is not an offset such as +05:30", z)
	}
	_, off := t.Zone()
	if off == 5*3600+1800 {
		return time.FixedZone("IST", off), nil
	}
	return time.FixedZone(z, off), nil
}

// weekSpans reads {"mon": ["09:00-13:00"], "daily": [...]} into spans per
// weekday, sorted; an error names the key and entry.
func weekSpans(m map[string][]string) ([7][]span, error) {
	var w [7][]span
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		days := []time.Weekday{}
		if lk := strings.ToLower(strings.TrimSpace(k)); lk == "daily" {
			days = []time.Weekday{0, 1, 2, 3, 4, 5, 6}
		} else if d, ok := weekday(lk); ok {
			days = append(days, d)
		} else {
			return w, fmt.Errorf("%s: not a day (mon ... sun, or daily)", k)
		}
		for i, v := range m[k] {
			sp, err := parseSpan(v)
			if err != nil {
				return w, fmt.Errorf("%s[%d]: %v", k, i, err)
			}
			for _, d := range days {
				w[d] = append(w[d], sp)
			}
		}
	}
	for d := range w {
		slices.SortFunc(w[d], func(a, b span) int { return a.from - b.from })
		for i := 1; i < len(w[d]); i++ {
			if w[d][i].from < w[d][i-1].to {
				return w, fmt.Errorf("%s: %s and %s overlap", time.Weekday(d), w[d][i-1], w[d][i])
			}
		}
	}
	return w, nil
}

func (s span) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.from/60, s.from%60, s.to/60, s.to%60)
}

// parseSpan reads "HH:MM-HH:MM"; "24:00" ends a day.
func parseSpan(v string) (span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not a time range such as 09:00-13:00", v)
	}
	from, err1 := parseClock(a)
	to, err2 := parseClock(b)
	if err1 != nil || err2 != nil || to <= from {
		return span{}, fmt.Errorf("%q is not a time range such as 09:00-13:00", v)
	}
	return span{from, to}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// ParseRupees reads a fee such as "500", "500.0" or "499.50" into paise.
func ParseRupees(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("%q is not an amount in rupees such as 500.00", s)
	}
	r, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || r < 0 || r > 10_000_000 {
		return 0, fmt.Errorf("%q is not an amount in rupees such as 500.00", s)
	}
	var p int64
	if frac != "" {
		if p, err = strconv.ParseInt(frac, 10, 64); err != nil || p < 0 {
			return 0, fmt.Errorf("%q is not an amount in rupees such as 500.00", s)
		}
		if len(frac) == 1 {
			p *= 10
		}
	}
	return r*100 + p, nil
}

// Rupees writes paise as the catalog's price value: "500.00".
func Rupees(paise int64) string {
	return fmt.Sprintf("%d.%02d", paise/100, paise%100)
}

// Schedule returns the schedule the plan was made from.
func (p *Plan) Schedule() Schedule { return p.sched }

// Doctor is the doctor's profile.
func (p *Plan) Doctor() Profile { return p.sched.Doctor }

// Zone is the schedule's time zone.
func (p *Plan) Zone() *time.Location { return p.zone }

// ZoneOffset is the zone as an offset from UTC: "+05:30".
func (p *Plan) ZoneOffset() string { return time.Date(2000, 1, 1, 0, 0, 0, 0, p.zone).Format("-07:00") }

// Offers reports whether the doctor has hours of kind k.
func (p *Plan) Offers(k Kind) bool { _, ok := p.services[k]; return ok }

// Fee is the fee of kind k, in rupees as the schedule gives it.
func (p *Plan) Fee(k Kind) string { return p.services[k].fee }

// Window is how far ahead of now slots may be booked.
func (p *Plan) Window() time.Duration { return time.Duration(p.window) * 24 * time.Hour }

// Off reports whether the date of t (in the schedule's zone) is a day off.
func (p *Plan) Off(t time.Time) bool { return p.off[t.In(p.zone).Format(time.DateOnly)] }

// Hours lists the working spans of kind k on the day of t, as
// "09:00-13:00"; none on a day off.
func (p *Plan) Hours(k Kind, t time.Time) []string {
	t = t.In(p.zone)
	svc, ok := p.services[k]
	if !ok || p.off[t.Format(time.DateOnly)] {
		return nil
	}
	var out []string
	for _, sp := range svc.hours[t.Weekday()] {
		out = append(out, sp.String())
	}
	return out
}

// Slots lists the slots of kind k (KindUnknown: every kind) that start in
// [from, to), in time order, whether booked or not. A slot starts in a
// working span, ends within it, and does not overlap a break.
func (p *Plan) Slots(k Kind, from, to time.Time) []Slot {
	var out []Slot
	from, to = from.In(p.zone), to.In(p.zone)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, p.zone)
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		if p.off[day.Format(time.DateOnly)] {
			continue
		}
		for _, kind := range Kinds() {
			svc, ok := p.services[kind]
			if !ok || (k != KindUnknown && k != kind) {
				continue
			}
			for _, sp := range svc.hours[day.Weekday()] {
				start := day.Add(time.Duration(sp.from) * time.Minute)
				end := day.Add(time.Duration(sp.to) * time.Minute)
				for t := start; !t.Add(svc.length).After(end); t = t.Add(svc.length) {
					if t.Before(from) || !t.Before(to) || p.inBreak(day, t, t.Add(svc.length)) {
						continue
					}
					out = append(out, Slot{ID: SlotID(p.sched.Doctor.HPR, kind, t), Kind: kind,
						Start: t, End: t.Add(svc.length), Fee: svc.fee})
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return out
}

func (p *Plan) inBreak(day, a, b time.Time) bool {
	for _, br := range p.breaks[day.Weekday()] {
		bs, be := day.Add(time.Duration(br.from)*time.Minute), day.Add(time.Duration(br.to)*time.Minute)
		if a.Before(be) && bs.Before(b) {
			return true
		}
	}
	return false
}

// Slot finds the slot with id among those starting in [from, to); a
// caller that knows the slot's start narrows the range to that day.
func (p *Plan) Slot(id string, from, to time.Time) (Slot, bool) {
	for _, s := range p.Slots(KindUnknown, from, to) {
		if s.ID == id {
			return s, true
		}
	}
	return Slot{}, false
}
