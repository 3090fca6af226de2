package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Durable reads a durable pull consumer's messages, like the iterator of
// jetstream.Consumer.Messages, and survives NATS losing the consumer or
// its stream (a server restarted without its storage, a `nats consumer rm`):
// it notices (the server's "consumer deleted", or missed heartbeats and a
// consumer that is gone), re-creates the consumer (and, on a Conn's JS,
// the streams) with a capped back-off, and goes on reading. Without this a
// stage would wait for ever on a consumer that no longer exists.
type Durable struct {
	ctx    context.Context
	js     consumerJS
	stream string
	cfg    jetstream.ConsumerConfig
	opts   []jetstream.PullMessagesOpt
	log    zerolog.Logger
	// unwatch stops the Conn's keeper from re-creating the consumer.
	unwatch func()

	mu       sync.Mutex
	it       jetstream.MessagesContext
	stopped  bool
	draining bool
	// done is closed by Stop and Drain: a recovery's wait ends.
	done chan struct{}
}

// consumerJS is what a Durable needs of a JetStream context: the
// consumers it (re-)creates and reads, and the connection that says
// whether reading is over. A Conn's JS also re-creates lost streams
// (repairer).
type consumerJS interface {
	jetstream.StreamConsumerManager
	Conn() *nats.Conn
}

// durableMaxWait caps the back-off between two attempts to re-create a
// lost consumer.
const durableMaxWait = 30 * time.Second

// DurableMessages creates (or updates) the durable consumer cfg on stream
// and reads its messages until Stop or ctx ends. A stream that is missing
// at start is waited for like one lost later; any other error creating the
// consumer is returned.
func DurableMessages(ctx context.Context, js consumerJS, stream string, cfg jetstream.ConsumerConfig, log zerolog.Logger, opts ...jetstream.PullMessagesOpt) (*Durable, error) {
	d := &Durable{
		ctx:     ctx,
		js:      js,
		stream:  stream,
		cfg:     cfg,
		opts:    append(append([]jetstream.PullMessagesOpt(nil), opts...), jetstream.WithMessagesErrOnMissingHeartbeat(true)),
		log:     log.With().Str("consumer", cfg.Durable).Logger(),
		unwatch: func() {},
		done:    make(chan struct{}),
	}
	it, err := d.open()
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		it, err = d.reopen(err)
	}
	if err != nil {
		return nil, err
	}
	d.it = it
	if r, ok := js.(repairer); ok {
		d.unwatch = r.watch(stream, cfg, d.renew)
	}
	return d, nil
}

// open creates the consumer and an iterator of its messages.
func (d *Durable) open() (jetstream.MessagesContext, error) {
	cons, err := d.js.CreateOrUpdateConsumer(d.ctx, d.stream, d.cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", d.cfg.Durable, err)
	}
	it, err := cons.Messages(d.opts...)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", d.cfg.Durable, err)
	}
	return it, nil
}

// reopen retries open after err with a capped back-off, re-creating lost
// streams first when js can, until it succeeds, Stop or ctx.
func (d *Durable) reopen(err error) (jetstream.MessagesContext, error) {
	wait := 250 * time.Millisecond
	for {
		d.log.Warn().Err(err).Dur("retry_in", wait).Msg("durable consumer lost; re-creating it")
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return nil, jetstream.ErrMsgIteratorClosed
		case <-d.done:
			t.Stop()
			return nil, jetstream.ErrMsgIteratorClosed
		case <-t.C:
		}
		if d.isStopped() {
			return nil, jetstream.ErrMsgIteratorClosed
		}
		if r, ok := d.js.(repairer); ok {
			if rerr := r.RepairNow(d.ctx); rerr != nil {
				err = rerr
				wait = min(2*wait, durableMaxWait)
				continue
			}
		}
		it, oerr := d.open()
		if oerr == nil {
			d.log.Info().Msg("durable consumer re-created; reading again")
			return it, nil
		}
		err = oerr
		wait = min(2*wait, durableMaxWait)
	}
}

// Next returns the next message. It returns jetstream.ErrMsgIteratorClosed
// once Stop was called, ctx ended or the connection closed; the errors of
// opts (a timeout) are returned as they are; everything else is recovered
// from here.
func (d *Durable) Next(opts ...jetstream.NextOpt) (jetstream.Msg, error) {
	for {
		d.mu.Lock()
		it, stopped, draining := d.it, d.stopped, d.draining
		d.mu.Unlock()
		if stopped && !draining {
			return nil, jetstream.ErrMsgIteratorClosed
		}
		m, err := it.Next(opts...)
		switch {
		case err == nil:
			return m, nil
		case d.isStopped() || d.ctx.Err() != nil:
			return nil, jetstream.ErrMsgIteratorClosed
		case d.replaced(it):
			continue // renewed after the keeper re-created the consumer
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, err // the caller's own limit
		case errors.Is(err, nats.ErrConnectionClosed) || d.js.Conn().IsClosed():
			return nil, jetstream.ErrMsgIteratorClosed
		case errors.Is(err, jetstream.ErrNoHeartbeat) && d.exists():
			continue // the iterator pulls again by itself (a reconnect, a slow server)
		}
		it.Stop()
		next, err := d.reopen(err)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		switch {
		case d.stopped:
			d.mu.Unlock()
			next.Stop()
			return nil, jetstream.ErrMsgIteratorClosed
		case d.it != it:
			next.Stop() // renewed meanwhile
		default:
			d.it = next
		}
		d.mu.Unlock()
	}
}

// replaced reports whether renew put another iterator in its place.
func (d *Durable) replaced(it jetstream.MessagesContext) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.it != it
}

// renew reads the consumer through a new iterator: the Conn's keeper
// re-created it, and the old iterator's pull requests went to nothing.
// Should that fail, Next's own recovery takes over.
func (d *Durable) renew() {
	it, err := d.open()
	if err != nil {
		return
	}
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		it.Stop()
		return
	}
	old := d.it
	d.it = it
	d.mu.Unlock()
	old.Stop()
}

// exists reports whether the consumer is still there; when that cannot be
// told (NATS unreachable) it says yes, leaving the reconnect to the client.
func (d *Durable) exists() bool {
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	_, err := d.js.Consumer(ctx, d.stream, d.cfg.Durable)
	return !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound)
}

func (d *Durable) isStopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped
}

// Stop ends the reading: messages buffered and not yet returned are
// discarded (JetStream redelivers them after the ack wait), and Next
// returns jetstream.ErrMsgIteratorClosed.
func (d *Durable) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopped {
		d.stopped = true
		d.unwatch()
		close(d.done)
	}
	d.it.Stop()
}

// Drain ends the reading after the messages already buffered, which Next
// still returns.
func (d *Durable) Drain() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopped {
		d.stopped, d.draining = true, true
		d.unwatch()
		close(d.done)
	}
	d.it.Drain()
}

// Durable is a drop-in for the iterator of jetstream.Consumer.Messages.
var _ jetstream.MessagesContext = (*Durable)(nil)
