package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"teleconsole/record"
)

// fakeHistory is a Historian over a fixed list.
type fakeHistory struct {
	list   []record.Consultation
	detail map[string]record.Detail
	asked  []string
}

func (f *fakeHistory) History(patient string, before record.Cursor, limit int) ([]record.Consultation, error) {
	f.asked = append(f.asked, fmt.Sprintf("history %q %d", patient, limit))
	if !before.IsZero() {
		return nil, nil // one page here
	}
	var out []record.Consultation
	for _, c := range f.list {
		if patient == "" || c.Patient.Address == patient {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeHistory) Consultation(id string) (record.Detail, error) {
	d, ok := f.detail[id]
	if !ok {
		return d, record.ErrNotFound
	}
	return d, nil
}

func pastConsultations() *fakeHistory {
	asha := record.Patient{Address: "asha.rao@sbx", Name: "Asha Rao", Gender: "F", TransactionID: "c0a8e1f2-7d41"}
	meera := record.Patient{Address: "meera.iyer.1987@sbx", Name: "Meera Iyer", Gender: "F", TransactionID: "9d1e-77aa"}
	day := testNow.Add(-24 * time.Hour)
	list := []record.Consultation{
		{ID: "c3", Patient: asha, Started: day.Add(3 * time.Hour), CallStarted: day.Add(3 * time.Hour), Length: 12*time.Minute + 4*time.Second,
			EndReason: "ended by doctor", State: record.StateEnded, Messages: 4, Files: 2},
		{ID: "c2", Patient: meera, Started: day.Add(2 * time.Hour), Length: 0, State: record.StateInterrupted, Messages: 1},
		{ID: "c1", Patient: asha, Started: day, CallStarted: day, Length: 5 * time.Minute, EndReason: "patient hung up", State: record.StateEnded},
	}
	d := record.Detail{Consultation: list[0], Notes: "rash on the left arm\nreview in a week",
		ChatLog: []record.Message{
			{Peer: "asha.rao@sbx", ID: "1", At: day.Add(3*time.Hour + time.Minute), Direction: record.In, ContentType: "text", Text: "my camera is broken", Status: "received"},
			{Peer: "asha.rao@sbx", ID: "2", At: day.Add(3*time.Hour + 2*time.Minute), Direction: record.Out, ContentType: "text", Text: "send a photo", Status: "sent"},
		},
		FileList: []record.File{
			{Direction: record.In, Kind: "media", Name: "rash.jpg", MimeType: "image/jpeg", Size: 48213, Path: "/data/files/c3/9f2c-rash.jpg"},
			{Direction: record.Out, Kind: "media", Name: "rx.pdf", MimeType: "application/pdf", Size: 2210, Path: "/data/files/c3/1a2b-rx.pdf"},
		}}
	d.Listed, d.Ended = day.Add(3*time.Hour-4*time.Minute), day.Add(3*time.Hour+12*time.Minute+4*time.Second)
	d.Quality = record.Quality{Setup: 640 * time.Millisecond, RTTMedian: 31 * time.Millisecond, RTTWorst: 140 * time.Millisecond,
		LossPercent: 0.4, BitrateIn: 1_200_000, BitrateOut: 800_000, AudioOnly: 12 * time.Second, Reconnects: 1}
	return &fakeHistory{list: list, detail: map[string]record.Detail{"c3": d}}
}

// feed runs cmd and hands what it produced back to the model.
func feed(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for _, msg := range run(t, cmd) {
		m, _ = update(t, m, msg)
	}
	return m
}

func TestHistoryFlow(t *testing.T) {
	h := pastConsultations()
	m := loaded(t, newFake(&recorder{}, nil), 80, 24, WithHistory(h))
	m, cmd := update(t, m, press("h"))
	m = feed(t, m, cmd)
	if screen := chatLines(t, m); !strings.Contains(screen, "History") || !strings.Contains(screen, "Meera Iyer") {
		t.Fatalf("history not shown:\n%s", screen)
	}
	// p keeps the selected patient's (Asha Rao, first in the waiting room).
	m, cmd = update(t, m, press("p"))
	m = feed(t, m, cmd)
	if screen := chatLines(t, m); strings.Contains(screen, "Meera Iyer") || !strings.Contains(screen, "History of asha.rao@sbx") {
		t.Fatalf("filter not applied:\n%s", screen)
	}
	if h.asked[len(h.asked)-1] != fmt.Sprintf("history %q %d", "asha.rao@sbx", record.HistoryPage) {
		t.Errorf("asked %v", h.asked)
	}
	m, cmd = update(t, m, press("enter"))
	m = feed(t, m, cmd)
	if screen := chatLines(t, m); !strings.Contains(screen, "review in a week") || !strings.Contains(screen, "rx.pdf") {
		t.Fatalf("consultation not opened:\n%s", screen)
	}
	m, _ = update(t, m, press("esc"))
	m, _ = update(t, m, press("esc"))
	if m.history.open || !strings.Contains(chatLines(t, m), "Waiting room (3)") {
		t.Fatalf("esc esc did not come back:\n%s", chatLines(t, m))
	}
	// Enter on the waiting room calls again.
	if !m.keys.Call.Enabled() {
		t.Error("call key not back")
	}
}

func TestHistoryViews(t *testing.T) {
	for _, sz := range sizes {
		w, hgt := sz.w, sz.h
		t.Run(sizeName("history", w, hgt), func(t *testing.T) {
			m := loaded(t, newFake(&recorder{}, nil), w, hgt, WithHistory(pastConsultations()))
			m, cmd := update(t, m, press("h"))
			checkGolden(t, feed(t, m, cmd), w, hgt)
		})
		t.Run(sizeName("history_detail", w, hgt), func(t *testing.T) {
			m := loaded(t, newFake(&recorder{}, nil), w, hgt, WithHistory(pastConsultations()))
			m, cmd := update(t, m, press("h"))
			m = feed(t, m, cmd)
			m, cmd = update(t, m, press("enter"))
			checkGolden(t, feed(t, m, cmd), w, hgt)
		})
	}
}

// BenchmarkHistoryScreen10k is the history screen's first view with
// 10,000 consultations: the page read, drawn at 80x24.
func BenchmarkHistoryScreen10k(b *testing.B) {
	store, err := record.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	t0 := testNow.Add(-10000 * time.Hour)
	for i := range 10000 {
		id := store.Begin(record.Patient{Address: fmt.Sprintf("p%d@sbx", i%500), Name: "Patient"}, "dr@hpr", time.Time{}, t0.Add(time.Duration(i)*time.Hour))
		store.End(id, t0.Add(time.Duration(i)*time.Hour+time.Minute), time.Minute, "ended by doctor", record.Quality{})
	}
	store.Flush()
	src := storeHistory{store}
	m := New(&fakeConsole{}, Info{}, WithHistory(src))
	for b.Loop() {
		h, cmd := m.history.start()
		msg := cmd().(historyMsg)
		h.loaded(msg)
		if len(h.list) != record.HistoryPage || h.view(80, 20) == "" {
			b.Fatalf("%d listed", len(h.list))
		}
	}
}

// TestHistoryPagesOn: with more than a page stored, scrolling down reads
// the next pages from a real store as the selection nears the end of what
// is read, until every consultation is listed once, newest first; page
// down gets there too, and the filter starts again from the first page.
func TestHistoryPagesOn(t *testing.T) {
	store, err := record.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 2*record.HistoryPage + 45
	t0 := testNow.Add(-n * time.Hour)
	for i := range n {
		name := "Patient"
		if i == 0 {
			name = "Oldest Of All"
		}
		store.Begin(record.Patient{Address: fmt.Sprintf("p%d@sbx", i%3), Name: name}, "dr@hpr", time.Time{}, t0.Add(time.Duration(i)*time.Hour))
	}
	store.Flush()
	m := loaded(t, newFake(&recorder{}, nil), 80, 24, WithHistory(storeHistory{store}))
	m, cmd := update(t, m, press("h"))
	m = feed(t, m, cmd)
	if len(m.history.list) != record.HistoryPage || !strings.Contains(chatLines(t, m), fmt.Sprintf("History (%d+)", record.HistoryPage)) {
		t.Fatalf("first page: %d read:\n%s", len(m.history.list), chatLines(t, m))
	}
	pages := 1
	for m.history.selected < len(m.history.list)-1 || m.history.more {
		m, cmd = update(t, m, press("down"))
		if cmd != nil {
			pages++
			m = feed(t, m, cmd)
		}
	}
	if pages != 3 || len(m.history.list) != n {
		t.Fatalf("%d pages, %d listed, want 3 and %d", pages, len(m.history.list), n)
	}
	seen := map[string]bool{}
	for i, c := range m.history.list {
		if seen[c.ID] || i > 0 && c.Started.After(m.history.list[i-1].Started) {
			t.Fatalf("row %d (%s) repeated or out of order", i, c.ID)
		}
		seen[c.ID] = true
	}
	if screen := chatLines(t, m); !strings.Contains(screen, "Oldest Of All") || !strings.Contains(screen, fmt.Sprintf("History (%d)", n)) {
		t.Errorf("the last row is not on screen:\n%s", screen)
	}

	// Page down from the top reads on as well.
	m, cmd = update(t, m, press("h")) // ignored: the history is open
	m = feed(t, m, cmd)
	m, _ = update(t, m, press("esc"))
	m, cmd = update(t, m, press("h"))
	m = feed(t, m, cmd)
	for range 2 * n / m.history.rows {
		m, cmd = update(t, m, tea.KeyPressMsg{Code: tea.KeyPgDown})
		m = feed(t, m, cmd)
	}
	if len(m.history.list) != n || m.history.selected != n-1 {
		t.Errorf("page down: %d listed, row %d selected", len(m.history.list), m.history.selected)
	}
	// The filter starts from its first page, everyone's pages dropped.
	m, cmd = update(t, m, press("p"))
	m = feed(t, m, cmd)
	for _, c := range m.history.list {
		if c.Patient.Address != "asha.rao@sbx" {
			t.Fatalf("filtered list has %s", c.Patient.Address)
		}
	}
}

// storeHistory is a Historian over a real store, as the console's.
type storeHistory struct{ s *record.Store }

func (h storeHistory) History(patient string, before record.Cursor, limit int) ([]record.Consultation, error) {
	return h.s.List(context.Background(), record.Filter{Patient: patient, Before: before, Limit: limit})
}

func (h storeHistory) Consultation(id string) (record.Detail, error) {
	return h.s.Get(context.Background(), id)
}
