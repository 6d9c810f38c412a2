package rx

import (
	"strings"
	"testing"
	"time"
)

func rules(t testing.TB) *Rules {
	t.Helper()
	r, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDrugRulesEveryListModeKind applies each list in every mode and kind:
// the guideline's table, cell by cell.
func TestDrugRulesEveryListModeKind(t *testing.T) {
	r := rules(t)
	drugs := map[List]string{ListO: "Paracetamol", ListA: "metformin", ListB: "SITAGLIPTIN", Prohibited: "codeine", Unlisted: "nimesulide"}
	// allowed[list][kind][mode]
	allowed := map[List]map[Kind]map[Mode]bool{
		ListO:      {First: {Video: true, Audio: true, Text: true}, FollowUp: {Video: true, Audio: true, Text: true}},
		ListA:      {First: {Video: true, Audio: false, Text: false}, FollowUp: {Video: true, Audio: true, Text: true}},
		ListB:      {First: {Video: false, Audio: false, Text: false}, FollowUp: {Video: true, Audio: true, Text: true}},
		Prohibited: {First: {Video: false, Audio: false, Text: false}, FollowUp: {Video: false, Audio: false, Text: false}},
		Unlisted:   {First: {Video: true, Audio: true, Text: true}, FollowUp: {Video: true, Audio: true, Text: true}},
	}
	for list, byKind := range allowed {
		for kind, byMode := range byKind {
			for mode, want := range byMode {
				c := r.Check(drugs[list], mode, kind)
				if c.List != list || c.Allowed != want {
					t.Errorf("%s (%q) %s %s: list %q allowed %v, want %q %v (%s)", drugs[list], list, mode, kind, c.List, c.Allowed, list, want, c.Reason)
				}
				if !c.Allowed && c.Reason == "" {
					t.Errorf("%s %s %s refused without a reason", drugs[list], mode, kind)
				}
				if (list == Unlisted) != (c.Note != "") {
					t.Errorf("%s %s %s: note %q", drugs[list], mode, kind, c.Note)
				}
			}
		}
	}
}

func TestDrugRulesReasons(t *testing.T) {
	r := rules(t)
	for _, tc := range []struct {
		generic    string
		mode       Mode
		kind       Kind
		wantReason []string
	}{
		{"morphine", Video, FollowUp, []string{"MORPHINE", "prohibited", "ndps"}},
		{"Methylphenidate", Video, FollowUp, []string{"METHYLPHENIDATE", "schedule x"}},
		{"paracetamol + codeine", Video, FollowUp, []string{"CODEINE", "prohibited"}},
		{"atenolol", Audio, First, []string{"list A", "video only", "audio"}},
		{"hydrochlorothiazide", Video, First, []string{"list B", "follow-up"}},
		{"Paracetamol+Hydrochlorothiazide", Video, First, []string{"list B"}},
	} {
		c := r.Check(tc.generic, tc.mode, tc.kind)
		if c.Allowed {
			t.Errorf("%s allowed", tc.generic)
		}
		for _, w := range tc.wantReason {
			if !strings.Contains(c.Reason, w) {
				t.Errorf("%s: reason %q lacks %q", tc.generic, c.Reason, w)
			}
		}
	}
	// Every prohibited name in the data is refused, every mode and kind.
	n := 0
	for name, l := range r.list {
		if l != Prohibited {
			continue
		}
		n++
		for _, m := range []Mode{Video, Audio, Text} {
			for _, k := range []Kind{First, FollowUp} {
				if c := r.Check(strings.ToUpper(name), m, k); c.Allowed || c.List != Prohibited || r.source[name] == "" {
					t.Errorf("%s %s %s: %+v", name, m, k, c)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d prohibited names read", n)
	}
	if c := r.Check("  ", Video, First); c.Allowed {
		t.Error("an empty name was allowed")
	}
}

func TestModeOf(t *testing.T) {
	for _, tc := range []struct {
		called             bool
		connected, audioOn time.Duration
		want               Mode
	}{
		{false, 0, 0, Text},
		{true, 0, 0, Text},
		{true, 10 * time.Minute, 0, Video},
		{true, 10 * time.Minute, 4 * time.Minute, Video},
		{true, 10 * time.Minute, 6 * time.Minute, Audio},
	} {
		if got := ModeOf(tc.called, tc.connected, tc.audioOn); got != tc.want {
			t.Errorf("%+v: %s", tc, got)
		}
	}
}
