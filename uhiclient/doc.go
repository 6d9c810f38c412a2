// Package uhiclient speaks the UHI video-call signalling wire described in
// docs/protocol.md: the on_message envelope (docs/protocol.md §2),
// the six signalling payloads carried in content_value (docs/protocol.md §3), Ed25519
// request signing with BLAKE2b-512 digests (docs/protocol.md §5), an HTTP handler for
// inbound POST /on_message calls that acknowledges at once and delivers the
// decoded message on bounded channels, an outbound client that posts to a
// peer's consumer_uri with retries, and the chat the reference apps carry on
// the same channel: X25519 keys, text sealed with AES-256-CTR and
// HMAC-SHA256, and attachments as base64 or a URL (docs/protocol.md §7),
// and the booking that comes before the call (docs/protocol.md §8): the
// search, init, confirm, status, cancel and update messages in both the
// network's in-clinic shape and the reference's teleconsultation shape,
// the HSPA's endpoints for them, and builders of its callbacks.
//
// The package is used from both ends of a consultation: the doctor's console
// (HSPA) and simulated patients (EUA). Nothing in it assumes which side it runs
// on; every constructor takes the local identity.
//
// Nothing here prints: logs go to an injected *slog.Logger, time comes from an
// injected clock, and there is no package-level state.
package uhiclient
