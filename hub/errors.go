package hub

import "errors"

// Errors of the hub and of a console's link to it.
var (
	// ErrNotRegistered means an address is not one of the hospital's
	// doctors: the hub has no consumer, subject or user for it.
	ErrNotRegistered = errors.New("not a doctor registered with the hub")
	// ErrOffline means a registered doctor's console has not been seen
	// within the offline limit (30 s): their messages would wait for no one.
	ErrOffline = errors.New("the doctor's console is offline")
	// ErrWrongSender means an outbound message names a sender other than
	// the doctor whose subject it came on.
	ErrWrongSender = errors.New("sender is not the doctor the request came from")
	// ErrBadDoctors means a doctors file cannot be read as one.
	ErrBadDoctors = errors.New("bad doctors file")
	// ErrHubUnreachable means an outbound request found no hub to answer
	// it, or none answered in time.
	ErrHubUnreachable = errors.New("hub unreachable")
	// ErrStarting means a hub replica is not set up yet: it waits for its
	// NATS servers, or for JetStream to elect its leaders.
	ErrStarting = errors.New("the hub is starting")
)
