package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"teleconsole/booking"
	"teleconsole/hspa"
	"teleconsole/uhiclient"
)

// The hub's booking endpoints (docs/booking.md §6): the booking side of an
// HSPA (hspa.Service) for every doctor with a schedule, their orders and
// the claims on their slots in the uhi_bookings bucket, so any replica
// answers any request and no two confirm one slot.

// ErrBadSchedules means the schedules given cannot be served: a schedule
// of a doctor not in the doctors file, or one filed under another doctor.
var ErrBadSchedules = errors.New("bad schedules")

// checkSchedules refuses schedules the hub cannot serve, naming the
// doctor.
func checkSchedules(cfg Config, doctors map[string]bool) error {
	for hpr, p := range cfg.Schedules {
		addr := strings.ToLower(strings.TrimSpace(hpr))
		switch {
		case p == nil:
			return fmt.Errorf("hub: %w: no schedule for %s", ErrBadSchedules, hpr)
		case !strings.EqualFold(p.Doctor().HPR, addr):
			return fmt.Errorf("hub: %w: the schedule given for %s is %s's", ErrBadSchedules, hpr, p.Doctor().HPR)
		case !doctors[addr]:
			return fmt.Errorf("hub: %w: %s has a schedule and is not in the doctors file", ErrBadSchedules, hpr)
		}
	}
	if len(cfg.Schedules) > 0 && len(cfg.PINKey) < 16 {
		return fmt.Errorf("hub: %w: bookings need a PIN key of 16 bytes or more, the same on every replica "+
			"(derived from the hospital's signing key: --private-key)", ErrBadSchedules)
	}
	return nil
}

// newBookingServer makes the endpoints' server; the requests it accepts
// wait in its queue until setup has made the service (setupFront).
func (h *Hub) newBookingServer() error {
	if len(h.cfg.Schedules) == 0 {
		return nil
	}
	opts := []uhiclient.BookingOption{uhiclient.WithBookingLogger(h.log.With("part", "booking-endpoint")),
		uhiclient.WithBookingVerifier(h.cfg.Verifier)}
	if h.cfg.GatewayVerifier != nil {
		opts = append(opts, uhiclient.WithGatewayVerifier(h.cfg.GatewayVerifier))
	}
	srv, err := uhiclient.NewBookingServer(h.handleBooking, opts...)
	if err != nil {
		return err
	}
	h.booking = srv
	return nil
}

// setupFront binds the bookings bucket and makes a desk per doctor with a
// schedule, all on it.
func (h *Hub) setupFront(ctx context.Context) error {
	if h.booking == nil {
		return nil
	}
	h.setWaiting("bucket " + BookingBucket)
	store, err := NewBookings(ctx, h.js, h.cfg.Replicas, h.log)
	if err != nil {
		return err
	}
	var desks []*booking.Desk
	for _, p := range h.cfg.Schedules {
		d, err := booking.NewDesk(p, store, booking.WithPINKey(h.cfg.PINKey))
		if err != nil {
			return fmt.Errorf("%w: desk of %s: %w", ErrSetup, p.Doctor().HPR, err)
		}
		desks = append(desks, d)
	}
	svc, err := hspa.New(hspa.Config{Desks: desks, ProviderID: h.cfg.ProviderID, ProviderURI: h.cfg.ProviderURI,
		Out: h.cfg.Client, Gateway: h.cfg.Gateway, Helpline: h.cfg.Helpline, Log: h.log.With("part", "booking")})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	svc.SetContext(ctx)
	h.front.Store(svc)
	return nil
}

// handleBooking answers one accepted booking request
// (uhiclient.BookingHandler); the server runs only once setup is done.
func (h *Hub) handleBooking(ctx context.Context, req *uhiclient.BookingRequest) {
	if svc := h.front.Load(); svc != nil {
		svc.Handle(ctx, req)
	}
}

// mountBooking serves the booking endpoints on mux beside on_message,
// answering 503 with a Retry-After until the replica is set up.
func (h *Hub) mountBooking(mux *http.ServeMux) {
	if h.booking == nil {
		return
	}
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := h.Waiting(); why != "" {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "starting: waiting for "+why, http.StatusServiceUnavailable)
			return
		}
		h.booking.ServeHTTP(w, r)
	})
	for _, a := range uhiclient.BookingEndpoints() {
		mux.Handle(uhiclient.DefaultBasePath+"/"+a, gate)
		mux.Handle("/"+a, gate)
	}
}

// Desk returns the booking desk of the doctor at HPR address hpr, once
// the replica is set up; false when the doctor has no schedule.
func (h *Hub) Desk(hpr string) (*booking.Desk, bool) {
	svc := h.front.Load()
	if svc == nil {
		return nil, false
	}
	return svc.Desk(hpr)
}

// BookingStats are the booking endpoints' counters (zero without
// schedules).
func (h *Hub) BookingStats() uhiclient.Stats {
	if h.booking == nil {
		return uhiclient.Stats{}
	}
	return h.booking.Stats()
}
