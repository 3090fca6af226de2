// Package bustest runs a real NATS server with JetStream for tests, with
// hoist's streams and bucket in place, so every stage's tests start the bus
// the same way.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// Bus is a test's NATS server and a connection to it.
type Bus struct {
	// Server is the embedded NATS server, listening on 127.0.0.1.
	Server *server.Server
	// URL is the server's client URL, for processes and stages that dial it.
	URL string
	// Conn is a TCP connection with every stream and bucket created.
	*bus.Conn
}

// Start starts a NATS server with JetStream on a free 127.0.0.1 port, its
// storage in t.TempDir(), and connects to it; both stop when the test ends.
func Start(t testing.TB) *Bus {
	t.Helper()
	s, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := bus.Connect(ctx, bus.Options{URL: s.ClientURL(), Name: t.Name(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return &Bus{Server: s, URL: s.ClientURL(), Conn: conn}
}

// InProcess is a second connection to the server through its in-process
// pipe, as hoist serve connects; it closes when the test ends.
func (b *Bus) InProcess(t testing.TB) *bus.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := bus.ConnectEmbedded(ctx, b.Server, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}
