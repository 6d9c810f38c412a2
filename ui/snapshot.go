package ui

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"teleconsole/waitingroom"
)

// snapshotMsg says where a snapshot went, or why it did not.
type snapshotMsg struct {
	path string
	err  error
}

// snapshotCmd saves frame seq of the patient's video, at the size it was
// decoded at, as a PNG file in dir, named by the patient's address, the
// consultation's transaction id and the time: readable by the doctor alone,
// as it shows a patient.
func snapshotCmd(c Console, dir string, p waitingroom.Patient, seq uint64, at time.Time) tea.Cmd {
	return func() tea.Msg {
		img, err := c.Snapshot(seq)
		if err != nil {
			return snapshotMsg{err: fmt.Errorf("snapshot: %w", err)}
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return snapshotMsg{err: fmt.Errorf("snapshot: %w", err)}
		}
		name := fmt.Sprintf("%s_%s_%s.png", fileSafe(p.Address), fileSafe(p.TransactionID), at.UTC().Format("20060102T150405.000Z"))
		path := filepath.Join(dir, name)
		// Written under another name, then renamed: the file appears
		// whole or not at all.
		f, err := os.CreateTemp(dir, ".snapshot-*.png")
		if err != nil {
			return snapshotMsg{err: fmt.Errorf("snapshot: %w", err)}
		}
		tmp := f.Name()
		err = f.Chmod(0o600)
		if err == nil {
			err = png.Encode(f, img)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
			return snapshotMsg{err: fmt.Errorf("snapshot: %w", err)}
		}
		return snapshotMsg{path: path}
	}
}

// fileSafe keeps letters, digits and @._- of s and turns the rest into _.
func fileSafe(s string) string {
	if s == "" {
		return "none"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '@', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}
