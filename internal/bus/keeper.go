package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A NATS server that restarts without its storage (an emptied volume, a
// fresh pod without persistence) or an operator's `nats stream rm` takes
// hoist's streams, bucket and durable consumers with it. Every stage would
// then fail for ever: ingest answers 503, matchers and committers wait on
// consumers that no longer exist. The keeper puts them back: after every
// reconnect, when Ready or a consumer finds something missing, and every
// repairEvery in case nobody looked.

// repairEvery is how often the keeper checks that nothing is missing.
const repairEvery = 30 * time.Second

// repairTimeout bounds one check and re-creation.
const repairTimeout = 30 * time.Second

// watched is a durable consumer this process reads, re-created with the
// streams.
type watched struct {
	stream string
	cfg    jetstream.ConsumerConfig
	// renew has the reader of a re-created consumer read it at once
	// rather than after its next missed heartbeat.
	renew func()
}

// keptJS is the JetStream context of a Conn: JetStream itself, plus the
// way back to the Conn that keeps the streams (see repairer).
type keptJS struct {
	jetstream.JetStream
	c *Conn
}

// repairer is what DurableMessages needs of a JetStream context to have
// lost streams re-created and its consumer re-created with them.
type repairer interface {
	RepairNow(ctx context.Context) error
	watch(stream string, cfg jetstream.ConsumerConfig, renew func()) (unwatch func())
}

// RepairNow re-creates whatever of hoist's streams, bucket and watched
// consumers is missing, at once.
func (k keptJS) RepairNow(ctx context.Context) error { return k.c.repair(ctx) }

func (k keptJS) watch(stream string, cfg jetstream.ConsumerConfig, renew func()) func() {
	w := &watched{stream: stream, cfg: cfg, renew: renew}
	k.c.mu.Lock()
	k.c.consumers[cfg.Durable] = w
	k.c.mu.Unlock()
	return func() {
		k.c.mu.Lock()
		if k.c.consumers[cfg.Durable] == w { // not a later reader's
			delete(k.c.consumers, cfg.Durable)
		}
		k.c.mu.Unlock()
	}
}

// askRepair asks the keeper to look for missing streams, bucket and consumers
// and re-create them, without waiting for it.
func (c *Conn) askRepair() {
	select {
	case c.kick <- struct{}{}:
	default: // a repair is already asked for
	}
}

// keep runs until Close, repairing on request and every repairEvery.
func (c *Conn) keep() {
	t := time.NewTicker(repairEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.kick:
		}
		if !c.NC.IsConnected() {
			continue // the reconnect asks again
		}
		ctx, cancel := context.WithTimeout(context.Background(), repairTimeout)
		if err := c.repair(ctx); err != nil {
			c.logger().Warn().Err(err).Msg("cannot check or re-create hoist's NATS streams; trying again")
		}
		cancel()
	}
}

// repair re-creates what missing reports. It re-applies every stream and
// the bucket (each creation is idempotent) so replicas stay as configured.
func (c *Conn) repair(ctx context.Context) error {
	missing, err := c.missing(ctx)
	if err != nil || len(missing) == 0 {
		return err
	}
	c.logger().Warn().Strs("missing", missing).Msg("NATS lost hoist's streams or consumers; re-creating them")
	if err := ensureStreamsReplicated(ctx, c.JS, c.replicas); err != nil {
		return err
	}
	lost := map[string]bool{}
	for _, m := range missing {
		lost[m] = true
	}
	for _, w := range c.watched() {
		if _, err := c.JS.CreateOrUpdateConsumer(ctx, w.stream, w.cfg); err != nil {
			return fmt.Errorf("consumer %s: %w", w.cfg.Durable, err)
		}
		if lost["consumer "+w.cfg.Durable] && w.renew != nil {
			w.renew()
		}
	}
	c.logger().Info().Strs("recreated", missing).Msg("hoist's NATS streams and consumers are back")
	return nil
}

func (c *Conn) watched() []watched {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]watched, 0, len(c.consumers))
	for _, w := range c.consumers {
		out = append(out, *w)
	}
	return out
}

// kvStream is the stream behind the tag-times bucket.
const kvStream = "KV_" + TagTimesBucket

// missing names hoist's streams, bucket and watched consumers JetStream
// does not have (one stream info request each).
func (c *Conn) missing(ctx context.Context) ([]string, error) {
	var out []string
	for _, name := range []string{PushStream, RewriteStream, kvStream, "KV_" + HoldsBucket, "KV_" + ScanBucket} {
		if _, err := c.JS.Stream(ctx, name); err != nil {
			if !errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, fmt.Errorf("stream %s: %w", name, err)
			}
			out = append(out, "stream "+name)
		}
	}
	for _, w := range c.watched() {
		if _, err := c.JS.Consumer(ctx, w.stream, w.cfg.Durable); err != nil {
			if !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, fmt.Errorf("consumer %s: %w", w.cfg.Durable, err)
			}
			out = append(out, "consumer "+w.cfg.Durable)
		}
	}
	return out, nil
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
