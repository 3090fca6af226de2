package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/redact"
)

// Conn is a NATS connection with its JetStream context, ready for any stage.
// It keeps hoist's streams, bucket and durable consumers in place while it
// is open (see repair).
type Conn struct {
	NC *nats.Conn
	// JS is NC's JetStream context; DurableMessages recognises it and has
	// missing streams re-created through the Conn.
	JS jetstream.JetStream
	// dial opens another connection the way NC was opened.
	dial func() (*nats.Conn, error)
	// publishers is how many connections Publishers opens.
	publishers int
	// replicas is the number of copies streams are (re-)created with.
	replicas int

	mu        sync.Mutex
	log       zerolog.Logger
	downSince time.Time // when the connection was lost; zero while connected
	downErr   error     // why
	consumers map[string]*watched

	kick chan struct{} // asks the keeper to look for missing streams now
	done chan struct{} // closed by Close: the keeper stops
	stop sync.Once
}

// Options is how Connect reaches an external NATS server.
type Options struct {
	// URL lists the servers, comma separated.
	URL string
	// Name is the connection's name, as the server shows it.
	Name string
	// Replicas is how many copies of each stream and of the bucket NATS
	// keeps (1 for a single server, 3 on a 3-node cluster).
	Replicas int
	// Auth authenticates hoist to the server.
	Auth Auth
	// Log receives failed connection attempts and connection state changes.
	Log zerolog.Logger
	// MaxRetryWait caps the back-off between two failed attempts; 0: 30 s.
	MaxRetryWait time.Duration
	// OnRetry, when set, hears of every failed attempt and the wait before
	// the next one (for /readyz while hoist waits for NATS).
	OnRetry func(err error, wait time.Duration)
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
	c.stop.Do(func() { close(c.done) })
	Drain(c.NC)
}

// Drain flushes a connection's in-flight publishes and acks, then closes it.
func Drain(nc *nats.Conn) {
	if err := nc.Drain(); err != nil {
		nc.Close()
	}
}

// defaultMaxRetryWait caps the back-off of connection attempts at start.
const defaultMaxRetryWait = 30 * time.Second

// Connect dials an external NATS server (o.URL may list several, comma
// separated) and makes sure every stream and bucket exists with o.Replicas
// copies. A server that is not there yet (a fresh install starts hoist and
// NATS together) or a JetStream that is not ready is waited for: each
// failed attempt is logged with the URL's secrets redacted, and retried
// after a back-off that doubles up to o.MaxRetryWait, until ctx is
// cancelled. Once connected it reconnects for ever.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	authOpts, err := o.Auth.NATSOptions()
	if err != nil {
		return nil, err
	}
	url := redact.URL(o.URL)
	maxWait := o.MaxRetryWait
	if maxWait <= 0 {
		maxWait = defaultMaxRetryWait
	}
	log := o.Log.With().Str("nats_url", url).Logger()
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c := newConn(o.Replicas, 2, log)
		dial := func(extra ...nats.Option) (*nats.Conn, error) {
			nc, err := nats.Connect(o.URL, append(append(connectOptions(o.Name), authOpts...), extra...)...)
			if err != nil {
				return nil, fmt.Errorf("connect nats %s: %w", url, err)
			}
			return nc, nil
		}
		c.dial = func() (*nats.Conn, error) { return dial(c.errorHandler()) }
		err := c.setup(ctx, func() (*nats.Conn, error) { return dial(c.stateHandlers()...) })
		if err == nil {
			if attempt > 1 {
				log.Info().Int("attempt", attempt).Msg("connected to NATS")
			}
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		}
		log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", wait).Msg("cannot connect to NATS yet; retrying")
		if o.OnRetry != nil {
			o.OnRetry(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

// ConnectEmbedded connects in-process to a server started with
// StartEmbedded, with no network socket involved; its writes are queued
// (queuedConn).
func ConnectEmbedded(ctx context.Context, s *server.Server, name string) (*Conn, error) {
	c := newConn(1, 1, zerolog.Nop())
	dial := func(extra ...nats.Option) (*nats.Conn, error) {
		opts := append(append(connectOptions(name), nats.InProcessServer(inProcess{s})), extra...)
		nc, err := nats.Connect("", opts...)
		if err != nil {
			return nil, fmt.Errorf("connect embedded nats: %w", err)
		}
		return nc, nil
	}
	c.dial = func() (*nats.Conn, error) { return dial(c.errorHandler()) }
	if err := c.setup(ctx, func() (*nats.Conn, error) { return dial(c.stateHandlers()...) }); err != nil {
		return nil, err
	}
	return c, nil
}

func newConn(replicas, publishers int, log zerolog.Logger) *Conn {
	return &Conn{
		replicas:   max(replicas, 1),
		publishers: publishers,
		log:        log,
		consumers:  map[string]*watched{},
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
}

func connectOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
	}
}

// errorHandler logs what the server reports asynchronously: a permissions
// violation, a slow consumer.
func (c *Conn) errorHandler() nats.Option {
	return nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		ev := c.logger().Warn().Err(err)
		if sub != nil {
			ev = ev.Str("subject", sub.Subject)
		}
		ev.Msg("NATS reported an error")
	})
}

// stateHandlers log the connection's state changes and asynchronous
// errors, and remember since when it is down, for Ready. A reconnect also
// has the keeper check the streams: a NATS server that restarted without
// its storage has lost them.
func (c *Conn) stateHandlers() []nats.Option {
	return []nats.Option{
		c.errorHandler(),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() {
				return // Close: the closed handler says so
			}
			c.mu.Lock()
			if c.downSince.IsZero() {
				c.downSince = time.Now()
			}
			c.downErr = err
			c.mu.Unlock()
			c.logger().Warn().Err(err).Msg("NATS connection lost; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.mu.Lock()
			c.downSince, c.downErr = time.Time{}, nil
			c.mu.Unlock()
			c.logger().Info().Str("server", nc.ConnectedUrlRedacted()).Msg("NATS reconnected")
			c.Repair()
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			ev := c.logger().Info()
			if err := nc.LastError(); err != nil {
				ev = c.logger().Warn().Err(err)
			}
			ev.Msg("NATS connection closed")
		}),
	}
}

// setup opens the stage's connection with dial, ensures the streams and
// starts the keeper.
func (c *Conn) setup(ctx context.Context, dial func() (*nats.Conn, error)) error {
	nc, err := dial()
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream: %w", err)
	}
	if err := EnsureStreamsReplicated(ctx, js, c.replicas); err != nil {
		nc.Close()
		return err
	}
	c.NC, c.JS = nc, keptJS{JetStream: js, c: c}
	go c.keep()
	return nil
}

// SetLog sends the connection's state changes and the keeper's repairs to
// log (Connect takes its logger from Options).
func (c *Conn) SetLog(log zerolog.Logger) {
	c.mu.Lock()
	c.log = log
	c.mu.Unlock()
}

func (c *Conn) logger() *zerolog.Logger {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.log
	return &l
}

// Ready reports whether the connection is up and JetStream holds hoist's
// streams, bucket and the durable consumers of this process; it is what
// /readyz checks. Something missing is re-created in the background and
// named in the error until it is back.
func (c *Conn) Ready(ctx context.Context) error {
	if c == nil || c.NC == nil {
		return errors.New("not connected")
	}
	if !c.NC.IsConnected() {
		c.mu.Lock()
		since, why := c.downSince, c.downErr
		c.mu.Unlock()
		msg := "disconnected"
		if !since.IsZero() {
			msg += " since " + since.UTC().Format(time.RFC3339)
		}
		if why != nil {
			msg += ": " + why.Error()
		}
		return errors.New(msg)
	}
	missing, err := c.missing(ctx)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if len(missing) > 0 {
		c.Repair()
		return fmt.Errorf("jetstream lost %s (re-creating)", joinNames(missing))
	}
	return nil
}
