package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"teleconsole/booking"
)

// ScheduleFile is the doctor's schedule's name in the data directory
// (docs/booking.md §2).
const ScheduleFile = "schedule.json"

// ErrNoSchedule means the data directory has no schedule: the console
// takes no bookings until one is set (teleconsole schedule --set).
var ErrNoSchedule = errors.New("no schedule set")

// LoadSchedule reads and checks the schedule in dir, and says when the
// file was last changed, so a running console can pick up a new one.
func LoadSchedule(dir string) (*booking.Plan, time.Time, error) {
	path := filepath.Join(dir, ScheduleFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, time.Time{}, fmt.Errorf("%w in %s", ErrNoSchedule, dir)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("schedule: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("schedule: %w", err)
	}
	p, err := booking.ParseSchedule(b)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, fi.ModTime(), nil
}

// ScheduleChanged reports when the schedule file in dir was last changed
// (zero when there is none).
func ScheduleChanged(dir string) time.Time {
	fi, err := os.Stat(filepath.Join(dir, ScheduleFile))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// SaveSchedule checks s and writes it to dir, whole or not at all (a new
// file renamed over the old one), readable by the user alone.
func SaveSchedule(dir string, s booking.Schedule) (*booking.Plan, error) {
	p, err := s.Plan()
	if err != nil {
		return nil, err
	}
	if err := MkdirPrivate(dir); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ScheduleFile+".*")
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; left over otherwise
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ScheduleFile)); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return p, nil
}
