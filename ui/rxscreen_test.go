package ui

import (
	"errors"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// fakeRx is a Prescriber that keeps what it is given: a form is refused
// while it has no diagnosis line with text, and signed otherwise.
type fakeRx struct {
	mu     sync.Mutex
	saved  []string
	signed []string
}

func (f *fakeRx) RxForm(addr string) (string, string, error) {
	return "age: 34 years\ndiagnosis:\nrx: \n", "video", nil
}

func (f *fakeRx) RxHint() string { return "medicines, rx: generic|strength" }

func problemsOf(text string) []string {
	if strings.Contains(text, "diagnosis: ") && !strings.Contains(text, "diagnosis: \n") {
		return nil
	}
	return []string{"no diagnosis or provisional diagnosis, which the guideline asks every prescription to carry before it is signed"}
}

func (f *fakeRx) RxSave(addr, text string) ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, text)
	return problemsOf(text), nil
}

func (f *fakeRx) RxSign(addr, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := problemsOf(text); p != nil {
		return "", errors.New("cannot sign: " + p[0])
	}
	f.signed = append(f.signed, addr+"\n"+text)
	return "prescription v1 signed, sent as PNG and PDF", nil
}

// feedAll gives m the messages of cmd, and of the commands they return, in
// turn.
func feedAll(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for _, msg := range run(t, cmd) {
		var next tea.Cmd
		m, next = update(t, m, msg)
		m = feedAll(t, m, next)
	}
	return m
}

func typeRx(t *testing.T, m Model, s string) Model {
	for _, r := range s {
		var cmd tea.Cmd
		m, cmd = update(t, m, press(string(r)))
		m = feedAll(t, m, cmd)
	}
	return m
}

func TestPrescriptionScreen(t *testing.T) {
	rec := &recorder{}
	f := &fakeRx{}
	m := loaded(t, newFake(rec, nil), 80, 24, WithPrescriber(f))
	if !strings.Contains(ansi.Strip(m.View().Content), "q quit") || !strings.Contains(ansi.Strip(m.View().Content), "r prescription") {
		t.Fatalf("the help line does not offer r:\n%s", ansi.Strip(m.View().Content))
	}
	m, cmd := update(t, m, press("r"))
	m = feedAll(t, m, cmd)
	v := ansi.Strip(m.View().Content)
	lines := strings.Split(v, "\n")
	if len(lines) != 24 || !strings.Contains(v, "Prescription for") || !strings.Contains(v, "video consultation") ||
		!strings.Contains(v, "age: 34 years") || !strings.Contains(v, "ctrl+s sign and send") {
		t.Fatalf("the screen at 80x24:\n%s", v)
	}
	// The whole reason shows, wrapped, not cut at 80 columns.
	if !strings.Contains(v, "no diagnosis or provisional diagnosis, which the guideline asks every") ||
		!strings.Contains(v, "before it is signed") {
		t.Errorf("the problem is not shown whole:\n%s", v)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("a line of %d columns: %q", w, l)
		}
	}
	// ctrl+s refused: the reason on the message line, nothing signed, the
	// form still open. Keys the console would take (q, e) are text here.
	m, cmd = update(t, m, tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	m = feedAll(t, m, cmd)
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "cannot sign: no diagnosis") || len(f.signed) != 0 || !m.rx.open {
		t.Fatalf("refused signature:\n%s", v)
	}
	// The cursor is at the end of the first line: down to the diagnosis.
	m, cmd = update(t, m, press("down"))
	m = feedAll(t, m, cmd)
	m = typeRx(t, m, " Acute pharyngitis q e")
	m, cmd = update(t, m, press("down"))
	m = feedAll(t, m, cmd)
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "ready: ctrl+s") {
		t.Fatalf("after the diagnosis:\n%s", v)
	}
	m, cmd = update(t, m, tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	m = feedAll(t, m, cmd)
	if len(f.signed) != 1 || !strings.Contains(f.signed[0], "diagnosis: Acute pharyngitis q e") || m.rx.open {
		t.Fatalf("signed %q, open %v", f.signed, m.rx.open)
	}
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "prescription v1 signed, sent as PNG and PDF") || !strings.Contains(v, "Waiting room") {
		t.Errorf("after signing:\n%s", v)
	}
	if rec.list() != nil && len(rec.list()) > 0 {
		t.Errorf("the console was driven while writing: %v", rec.list())
	}
	// esc keeps the form as written and closes.
	m, cmd = update(t, m, press("r"))
	m = feedAll(t, m, cmd)
	m = typeRx(t, m, "x")
	m, cmd = update(t, m, press("esc"))
	m = feedAll(t, m, cmd)
	if m.rx.open || !strings.HasSuffix(strings.SplitN(f.saved[len(f.saved)-1], "\n", 2)[0], "x") {
		t.Errorf("esc: open %v, last saved %q", m.rx.open, f.saved[len(f.saved)-1])
	}
}

// TestPrescriptionKeyLeavesQuitOnTheLine: at 80 columns the call screen's
// help line still ends with quit, and r opens the prescription there.
func TestPrescriptionKeyLeavesQuitOnTheLine(t *testing.T) {
	rec := &recorder{}
	f := &fakeRx{}
	m := inCall(t, rec, 80, 24, WithPrescriber(f))
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "q quit") {
		t.Fatalf("quit pushed off the help line:\n%s", v)
	}
	m, cmd := update(t, m, press("r"))
	m = feedAll(t, m, cmd)
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "Prescription for") || !m.rx.open {
		t.Fatalf("r in a call:\n%s", v)
	}
}

// copyingHistory is a fakeHistory that writes patients' copies.
type copyingHistory struct {
	*fakeHistory
	copied []string
}

func (c *copyingHistory) PatientCopy(id string) (string, error) {
	c.copied = append(c.copied, id)
	return "/data/files/" + id + "/consultation-summary.pdf", nil
}

func TestHistoryWritesThePatientsCopy(t *testing.T) {
	h := &copyingHistory{fakeHistory: pastConsultations()}
	m := loaded(t, newFake(&recorder{}, nil), 80, 24, WithHistory(h))
	m, cmd := update(t, m, press("h"))
	m = feed(t, m, cmd)
	// Not on the list: only on a consultation opened.
	m, cmd = update(t, m, press("w"))
	m = feed(t, m, cmd)
	if len(h.copied) != 0 {
		t.Fatalf("w on the list wrote %v", h.copied)
	}
	m, cmd = update(t, m, press("enter"))
	m = feed(t, m, cmd)
	if v := ansi.Strip(m.View().Content); !strings.Contains(v, "w patient's copy (PDF)") {
		t.Fatalf("the help line does not offer the copy:\n%s", v)
	}
	m, cmd = update(t, m, press("w"))
	m = feed(t, m, cmd)
	if v := ansi.Strip(m.View().Content); len(h.copied) != 1 || h.copied[0] != "c3" || !strings.Contains(v, "Patient's copy saved: /data/files/c3/consultation-summary.pdf") {
		t.Fatalf("copied %v:\n%s", h.copied, v)
	}
}
