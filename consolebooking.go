package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"teleconsole/app"
	"teleconsole/booking"
	"teleconsole/record"
	"teleconsole/uhiclient"
)

// booking is the console's booking desk when the doctor has a schedule in
// the data directory (docs/booking.md §1), or nil: behind a hub, or with no
// schedule, the console takes no bookings. Bookings are kept in the record,
// or in memory with --record off.
func (c *consoleConfig) booking(store *record.Store, keys uhiclient.KeySource, signer *uhiclient.Signer, log *slog.Logger) (*app.Booking, error) {
	if c.hub != "" {
		log.Info("behind a hub the console takes no bookings (docs/booking.md §6)")
		return nil, nil
	}
	plan := c.schedule
	if plan == nil {
		dir, err := c.dir()
		if err != nil {
			return nil, err
		}
		p, _, err := record.LoadSchedule(dir)
		if errors.Is(err, record.ErrNoSchedule) {
			log.Info("no schedule: the console takes no bookings", "dir", dir)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		plan = p
	}
	var kept booking.Store = booking.NewMemoryStore()
	if store != nil {
		kept = store.Bookings()
	}
	opts := []booking.DeskOption{}
	if signer != nil {
		opts = append(opts, booking.WithPINKey(pinKey(signer)))
	}
	desk, err := booking.NewDesk(plan, kept, opts...)
	if err != nil {
		return nil, err
	}
	if c.seed != nil {
		c.seed(kept, plan)
	}
	b := &app.Booking{Desk: desk, Gateway: c.gateway, Helpline: c.helpline}
	if keys != nil {
		if b.GatewayVerifier, err = uhiclient.NewSignatureVerifier(keys,
			uhiclient.WithSignatureHeader(uhiclient.GatewayAuthorizationHeader)); err != nil {
			return nil, err
		}
	}
	c.desk = desk
	return b, nil
}

// pinKey is the key the check-in PINs are hashed with: derived from the
// console's signing key, which the record does not hold, so the same key
// comes back after a restart and a copy of the record alone cannot be
// searched for PINs (docs/booking.md §3).
func pinKey(s *uhiclient.Signer) []byte {
	return s.DeriveKey(booking.PINKeyLabel)
}

// scheduleEvery is how often a running console looks for a new schedule.
const scheduleEvery = 30 * time.Second

// watchSchedule puts a changed schedule file in force, until ctx ends. A
// file with a fault is not taken: the schedule in force stays, and the
// fault is logged (teleconsole schedule --set says it at once).
func watchSchedule(ctx context.Context, dir string, desk *booking.Desk, log *slog.Logger) {
	last := record.ScheduleChanged(dir)
	t := time.NewTicker(scheduleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed := record.ScheduleChanged(dir)
		if changed.Equal(last) || changed.IsZero() {
			continue
		}
		last = changed
		plan, _, err := record.LoadSchedule(dir)
		if err != nil {
			log.Warn("the schedule file changed and is not usable; the one in force stays", "err", err)
			continue
		}
		if plan.Doctor().HPR != desk.Doctor() {
			log.Warn("the schedule file changed to another doctor's; the one in force stays", "doctor", plan.Doctor().HPR)
			continue
		}
		desk.SetPlan(plan)
		log.Info("schedule changed: in force now")
	}
}
