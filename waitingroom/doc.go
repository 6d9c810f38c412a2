// Package waitingroom is the domain of the doctor's waiting room: the
// patients known from their READY messages, where each one stands (waiting,
// being called, in a call, or the outcome of the last call), and the rules
// for moving between those states.
//
// It implements the presence and acknowledgement semantics of the UHI
// signalling protocol (docs/protocol.md §3). It does no I/O and imports
// nothing else of this module; time comes from an injected clock, so every
// rule can be tested without sleeping. A Room is safe for concurrent use: the
// HTTP handlers that receive signalling and the console that shows the room
// call it from different goroutines.
package waitingroom
