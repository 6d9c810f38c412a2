package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"teleconsole/uhiclient"
)

// Transport carries the console's signalling: what patients send arrives
// on Signals and Chats, what the console sends goes out through Send. The
// console does not know which it has: its own on_message endpoint (the
// direct mode, made by New when Config.Transport is nil) or a hub's link
// (hub.Link).
type Transport interface {
	uhiclient.Sender
	// Start begins taking messages. admit is the waiting room's check of
	// each new signalling message, run before it is queued, as
	// uhiclient.WithAdmission describes.
	Start(admit func(*uhiclient.Inbound) error) error
	// Signals and Chats deliver what patients sent; they are never closed.
	Signals() <-chan *uhiclient.Inbound
	Chats() <-chan *uhiclient.Inbound
	// Stopped delivers the transport's error if it stops on its own
	// before Close, and is closed once it has stopped.
	Stopped() <-chan error
	// Close stops taking messages, those being taken finishing within
	// ctx. Send still works after it: the call's BYE and the last ACKs go
	// out after the inbound side has stopped.
	Close(ctx context.Context) error
	// Verification says how inbound requests are authenticated (for the
	// log).
	Verification() string
}

// direct is the console's own on_message endpoint: a uhiclient.Server on a
// listener, and a uhiclient.Client posting to the patients.
type direct struct {
	*uhiclient.Client
	server  *uhiclient.Server
	booking *uhiclient.BookingServer // served beside on_message, or nil
	ln      net.Listener             // set by Console.Start
	http    *http.Server
	admit   func(*uhiclient.Inbound) error
	stopped chan error
}

func newDirect(doctor string, verifier uhiclient.Verifier, client *uhiclient.Client, opts ...uhiclient.ServerOption) (*direct, error) {
	d := &direct{Client: client, stopped: make(chan error, 1)}
	// admit is set by Start, before the server takes its first request.
	check := func(in *uhiclient.Inbound) error { return d.admit(in) }
	s, err := uhiclient.NewServer(doctor, append([]uhiclient.ServerOption{uhiclient.WithVerifier(verifier),
		uhiclient.WithAdmission(check)}, opts...)...)
	if err != nil {
		return nil, err
	}
	d.server = s
	return d, nil
}

func (d *direct) Start(admit func(*uhiclient.Inbound) error) error {
	if d.ln == nil {
		return errors.New("app: the direct endpoint needs a listener")
	}
	if admit == nil {
		admit = func(*uhiclient.Inbound) error { return nil }
	}
	d.admit = admit
	d.http = d.server.HTTPServer("")
	if d.booking != nil {
		mux := http.NewServeMux()
		d.server.Mount(mux)
		d.booking.Mount(mux)
		d.http.Handler = mux
	}
	go func() {
		if err := d.http.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.stopped <- fmt.Errorf("the on_message endpoint stopped: %w", err)
		}
		close(d.stopped)
	}()
	return nil
}

func (d *direct) Signals() <-chan *uhiclient.Inbound { return d.server.Signals() }
func (d *direct) Chats() <-chan *uhiclient.Inbound   { return d.server.Chats() }
func (d *direct) Stopped() <-chan error              { return d.stopped }
func (d *direct) Verification() string               { return d.server.Verification() }

// Close shuts the endpoint down. Shutdown waits for the requests being
// served, and also for connections that never sent one, which it counts as
// busy for 5 s (clients open spare connections): past a short wait those
// are closed, so the rest of the console's shutdown keeps its time.
func (d *direct) Close(ctx context.Context) error {
	if d.http == nil {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, httpShutdownTimeout)
	defer cancel()
	if err := d.http.Shutdown(hctx); err != nil {
		_ = d.http.Close()
		return fmt.Errorf("endpoint shutdown cut short: %w", err)
	}
	return nil
}
