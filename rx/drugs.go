package rx

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"time"
)

// The guideline's lists, as data (each file says its source).
var (
	//go:embed data/lists.tsv
	listsTSV []byte
	//go:embed data/prohibited.tsv
	prohibitedTSV []byte
)

// Mode is how the consultation was held.
type Mode string

// The modes of the guideline.
const (
	Video Mode = "video"
	Audio Mode = "audio"
	Text  Mode = "text"
)

// Kind is whether the consultation is the first for this condition with
// this doctor, or a follow-up.
type Kind string

// The kinds of the guideline.
const (
	First    Kind = "first"
	FollowUp Kind = "follow-up"
)

// List is the guideline's list a medicine is on.
type List string

// The lists. Unlisted is on none: the doctor's call, with a note.
const (
	ListO      List = "O"
	ListA      List = "A"
	ListB      List = "B"
	Prohibited List = "prohibited"
	Unlisted   List = ""
)

// rank orders the lists from the least restricted to the most.
func (l List) rank() int {
	switch l {
	case ListO:
		return 1
	case ListA:
		return 2
	case ListB:
		return 3
	case Prohibited:
		return 4
	}
	return 0
}

// Rules are the guideline's drug lists, read from the bundled data.
type Rules struct {
	list   map[string]List
	source map[string]string // prohibited name → its source
}

// DefaultRules are the bundled lists.
func DefaultRules() (*Rules, error) {
	r := &Rules{list: map[string]List{}, source: map[string]string{}}
	if err := readTSV(listsTSV, func(a, name string) error {
		switch l := List(a); l {
		case ListO, ListA, ListB:
			r.list[name] = l
			return nil
		}
		return fmt.Errorf("unknown list %q", a)
	}); err != nil {
		return nil, fmt.Errorf("rx: lists: %w", err)
	}
	if err := readTSV(prohibitedTSV, func(src, name string) error {
		r.list[name] = Prohibited
		r.source[name] = src
		return nil
	}); err != nil {
		return nil, fmt.Errorf("rx: prohibited: %w", err)
	}
	return r, nil
}

func readTSV(b []byte, add func(a, b string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, name, ok := strings.Cut(line, "\t")
		if !ok || normalName(name) != name {
			return fmt.Errorf("line %d: %q", n, line)
		}
		if err := add(a, name); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

// normalName is a generic name as the lists spell it: lower case, single
// spaces.
func normalName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// components are a combination's parts: "Paracetamol + Caffeine".
func components(generic string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(generic, func(r rune) bool { return r == '+' || r == ',' || r == '/' }) {
		if n := normalName(p); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Check is what the rules say of one medicine in one consultation.
type Check struct {
	// List is the most restricted list any of its parts is on.
	List List
	// Allowed says it may be prescribed in this consultation.
	Allowed bool
	// Reason says why not, when not allowed; Note is a warning when
	// allowed (a medicine on no list).
	Reason, Note string
}

// Check applies the guideline to one medicine, by its generic name, for a
// consultation held by mode, of kind.
func (r *Rules) Check(generic string, mode Mode, kind Kind) Check {
	parts := components(generic)
	if len(parts) == 0 {
		return Check{Reason: "no generic name"}
	}
	c := Check{List: Unlisted}
	var unknown []string
	for _, p := range parts {
		l, ok := r.list[p]
		if !ok {
			unknown = append(unknown, p)
			continue
		}
		if l == Prohibited {
			return Check{List: Prohibited, Reason: fmt.Sprintf("%s is prohibited in teleconsultation (%s): never prescribed this way",
				strings.ToUpper(p), r.source[p])}
		}
		if l.rank() > c.List.rank() {
			c.List = l
		}
	}
	switch c.List {
	case ListA:
		if kind != FollowUp && mode != Video {
			return Check{List: ListA, Reason: fmt.Sprintf("%s is on list A: a first consultation may prescribe it by video only, not by %s",
				strings.ToUpper(generic), mode)}
		}
	case ListB:
		if kind != FollowUp {
			return Check{List: ListB, Reason: fmt.Sprintf("%s is on list B: prescribed only in a follow-up, as an add-on to treatment begun in person",
				strings.ToUpper(generic))}
		}
	}
	c.Allowed = true
	if len(unknown) > 0 {
		c.Note = fmt.Sprintf("%s is on none of the guideline's lists, which are indicative: the doctor's call", strings.ToUpper(strings.Join(unknown, " + ")))
	}
	return c
}

// ModeOf is how a consultation was held, from its call's record: text when
// the doctor never called or the call never connected, audio when the
// video was off for more than half the time connected, else video.
func ModeOf(called bool, connected, audioOnly time.Duration) Mode {
	switch {
	case !called || connected <= 0:
		return Text
	case 2*audioOnly > connected:
		return Audio
	}
	return Video
}
