// Package record keeps what a consultation leaves behind, as India's
// Telemedicine Practice Guidelines ask of the doctor: who was seen, when and
// for how long, how the call ended and how it went, every chat message both
// ways, every file exchanged, and the doctor's notes (docs/protocol.md §7,
// docs/guide.md "The record and the chat").
//
// The store is one SQLite database in the data directory, through a pure-Go
// driver (modernc.org/sqlite, no cgo), in WAL mode so that readers (the
// history screen, teleconsole history) never wait for the writer. All writes
// go through one goroutine, queued without blocking the caller: the call and
// the screen never wait for the disk. A consultation still open when the
// store is next opened was cut short by a crash, and is marked interrupted.
//
// The package imports nothing of the project's: callers hand it plain
// values.
package record
