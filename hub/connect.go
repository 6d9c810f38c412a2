package hub

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// Connect is the hub's connection to NATS at url (servers comma-separated),
// as teleconsole hub makes it. When no server can be reached yet, it
// returns a connection that keeps trying, so that a replica may start
// before its NATS servers (Start serves 503 and New waits until they are
// there); a server that answers and refuses the hub's login is an error at
// once, which no wait mends. Once connected, the connection reconnects for
// as long as it lives.
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, error) {
	base := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(url, base...)
	if err == nil || !errors.Is(err, nats.ErrNoServers) {
		return nc, err
	}
	return nats.Connect(url, append(base, nats.RetryOnFailedConnect(true))...)
}
