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
	// publishers is how many connections Publishers opens.
	publishers int
}

// Publishers opens the connections a stage that publishes from many
// goroutines at once (ingest) should spread them over, made as NC was; the
// caller drains them. nats.go writes a connection's buffered publishes while
// holding the connection's lock; over TCP that is a system call, and two
// connections kept a 2-core machine busy where one left it idle (ingest:
// 0.48 of a bare handler's rate against 0.45; three did worse). In process
// the writes are queued (queuedConn), and one connection did better than
// two (0.50 against 0.48).
func (c *Conn) Publishers() ([]*nats.Conn, error) {
	if c == nil || c.dial == nil {
		return nil, fmt.Errorf("nats: no connection to dial again")
	}
	var out []*nats.Conn
	for range c.publishers {
		nc, err := c.dial()
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		out = append(out, nc)
	}
	return out, nil
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
	return setup(ctx, dial, replicas, 2)
}

// ConnectEmbedded connects in-process to a server started with
// StartEmbedded, with no network socket involved; its writes are queued
// (queuedConn).
func ConnectEmbedded(ctx context.Context, s *server.Server, name string) (*Conn, error) {
	dial := func() (*nats.Conn, error) {
		nc, err := nats.Connect("", append(connectOptions(name), nats.InProcessServer(inProcess{s}))...)
		if err != nil {
			return nil, fmt.Errorf("connect embedded nats: %w", err)
		}
		return nc, nil
	}
	return setup(ctx, dial, 1, 1)
}

func connectOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
}

func setup(ctx context.Context, dial func() (*nats.Conn, error), replicas, publishers int) (*Conn, error) {
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
	return &Conn{NC: nc, JS: js, dial: dial, publishers: publishers}, nil
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
