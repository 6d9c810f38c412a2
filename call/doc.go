// Package call is teleconsole's media engine: one WebRTC session per
// consultation, built on pion/webrtc and pion/mediadevices.
//
// An Engine holds the configuration shared by all calls (ICE servers, media
// choice, bit-rate limits, timeouts, logger). Engine.Dial starts a call as the
// doctor (the caller, who sends the OFFER); Engine.Answer takes a call as the
// patient (used by the simulated patient). Each call is a Session: signals from
// the peer go in through Session.Handle, signals for the peer go out through
// the Signaller given to Dial or Answer, and the call's life comes back as
// Events (StateEvent, StatsEvent) on Session.Events.
//
// The package knows nothing of the UHI wire format: a wire adapter maps Signal
// to and from the payloads of docs/protocol.md §3. It imports no TUI.
//
// Concurrency: every pion callback is turned into a typed message on a
// mailbox that never blocks the publisher, and one goroutine per session owns
// the call's state (docs/style.md "Cross goroutines in one place").
package call
