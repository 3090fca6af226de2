package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conn is a NATS connection with its JetStream context, ready for any stage.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// dial opens another connection the way NC was opened.
	dial func() (*nats.Conn, error)
}

// Dial opens another connection to the same server, made as NC was, for
// a stage that spreads its traffic over several (ingest publishes on a
// few: one connection's lock and flusher serialise every publish). The
// caller closes it.
func (c *Conn) Dial() (*nats.Conn, error) {
	if c == nil || c.dial == nil {
		return nil, fmt.Errorf("nats: no connection to dial again")
	}
	return c.dial()
}

// Close drains the connection: in-flight publishes and acks are flushed
// before it closes.
func (c *Conn) Close() {
	if c == nil || c.NC == nil {
		return
	}
	Drain(c.NC)
}

// Drain flushes a connection's in-flight publishes and acks, then closes it.
func Drain(nc *nats.Conn) {
	if err := nc.Drain(); err != nil {
		nc.Close()
	}
}

// Connect dials an external NATS server (url may list several, comma
// separated), reconnecting for ever, and makes sure every stream and bucket
// exists with the given number of replicas (1 for a single server, 3 on a
// 3-node cluster). opts add credentials (nats.UserCredentials,
// nats.UserInfo, nats.Token).
func Connect(ctx context.Context, url, name string, replicas int, opts ...nats.Option) (*Conn, error) {
	dial := func() (*nats.Conn, error) {
		nc, err := nats.Connect(url, append(connectOptions(name), opts...)...)
		if err != nil {
			return nil, fmt.Errorf("connect nats %s: %w", url, err)
		}
		return nc, nil
	}
	return setup(ctx, dial, replicas)
}

// ConnectEmbedded connects in-process to a server started with
// StartEmbedded, with no network socket involved.
func ConnectEmbedded(ctx context.Context, s *server.Server, name string) (*Conn, error) {
	dial := func() (*nats.Conn, error) {
		nc, err := nats.Connect("", append(connectOptions(name), nats.InProcessServer(s))...)
		if err != nil {
			return nil, fmt.Errorf("connect embedded nats: %w", err)
		}
		return nc, nil
	}
	return setup(ctx, dial, 1)
}

func connectOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
}

func setup(ctx context.Context, dial func() (*nats.Conn, error), replicas int) (*Conn, error) {
	nc, err := dial()
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := EnsureStreamsReplicated(ctx, js, replicas); err != nil {
		nc.Close()
		return nil, err
	}
	return &Conn{NC: nc, JS: js, dial: dial}, nil
}

// Ready reports whether the connection is up and JetStream answers; it is
// what /readyz checks.
func (c *Conn) Ready(ctx context.Context) error {
	if c == nil || c.NC == nil || !c.NC.IsConnected() {
		return fmt.Errorf("nats not connected")
	}
	if _, err := c.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}
