package hub

import (
	"time"

	"github.com/nats-io/nats.go"
)

// Connect is the hub's connection to NATS at url (servers comma-separated),
// as teleconsole hub makes it: it returns at once even when no server can
// be reached yet, and connects, and reconnects, for as long as it lives, so
// a replica may start before its NATS servers (New waits for them).
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(url, append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond), nats.RetryOnFailedConnect(true)}, opts...)...)
}
