package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// TestStatusBarShowsTheHubLink: a console on a hub says so in its status
// bar, with the link's state as it is at each render.
func TestStatusBarShowsTheHubLink(t *testing.T) {
	state := "hub reachable"
	m := New(newFake(&recorder{}, nil), Info{Endpoint: "via hub 10.0.0.5:4222", Doctor: "dr.kavya@hpr",
		Verify: "sigs by hub", Media: "synthetic", Link: func() string { return state }})
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = update(t, m, patientsMsg{patients: threePatients(), at: testNow})
	bar := func() string {
		lines := strings.Split(strings.TrimRight(ansi.Strip(m.View().Content), "\n"), "\n")
		return lines[len(lines)-1]
	}
	if b := bar(); !strings.Contains(b, "via hub 10.0.0.5:4222") || !strings.Contains(b, "hub reachable") {
		t.Fatalf("status bar %q; want the hub and its state", b)
	}
	state = "hub UNREACHABLE"
	if b := bar(); !strings.Contains(b, "hub UNREACHABLE") {
		t.Fatalf("status bar %q after the link went down; want hub UNREACHABLE", b)
	}
	if w := ansi.StringWidth(bar()); w > 80 {
		t.Fatalf("status bar %d columns wide at 80", w)
	}
	// A refused login says why, in full, at 80 columns.
	state = "hub UNREACHABLE: NATS credentials expired"
	if b := bar(); !strings.Contains(b, state) || ansi.StringWidth(b) > 80 {
		t.Fatalf("status bar %q (%d columns) after the credentials expired; want %q within 80", b, ansi.StringWidth(b), state)
	}
}
