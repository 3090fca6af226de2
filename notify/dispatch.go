package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Options bound the sending; a zero field takes the value of DefaultOptions.
type Options struct {
	// QueueSize is how many events wait per notifier; when full, the
	// oldest is dropped to make room.
	QueueSize int
	// Attempts is how often one event is tried.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// further one up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Client posts the JSON webhooks; nil: a client of its own.
	Client *http.Client
}

// DefaultOptions are the bounds of a Dispatcher whose Options leave fields zero.
func DefaultOptions() Options {
	return Options{QueueSize: 256, Attempts: 5, Backoff: time.Second, MaxBackoff: 30 * time.Second, Timeout: 10 * time.Second}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if o.Attempts <= 0 {
		o.Attempts = d.Attempts
	}
	if o.Backoff <= 0 {
		o.Backoff = d.Backoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff)
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	return o
}

// sender delivers one event once.
type sender interface {
	send(ctx context.Context, ev Event) error
}

// Dispatcher sends events to every notifier that takes their kind, each
// through its own queue and worker. Its zero value and nil send nothing.
type Dispatcher struct {
	notifiers []*notifier
	m         *metrics
	log       zerolog.Logger
	// abort ends every send in flight: Close's deadline passed.
	abort     context.CancelFunc
	closeOnce sync.Once
}

// notifier is one target: its queue and the worker that empties it.
type notifier struct {
	name   string
	kinds  map[Kind]bool
	s      sender
	opts   Options
	m      *metrics
	log    zerolog.Logger
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	queue  []Event
	closed bool
}

// New checks the targets and starts a worker per target; Close stops them.
// Metrics are registered on reg (nil: none); a series registered already is
// an error.
func New(targets []Target, opts Options, reg prometheus.Registerer, log zerolog.Logger) (*Dispatcher, error) {
	opts = opts.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{m: m, log: log.With().Str("component", "notify").Logger()}
	var ns []*notifier
	for i, t := range targets {
		name := notifierName(i, t)
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("notify[%d] (%s): %w", i, name, err)
		}
		kinds := map[Kind]bool{}
		for _, k := range t.Events {
			kinds[k] = true
		}
		if len(kinds) == 0 {
			for _, k := range Kinds() {
				kinds[k] = true
			}
		}
		nlog := d.log.With().Str("notifier", name).Logger()
		var s sender
		if t.Webhook() {
			s = newWebhook(t, opts.Client)
		} else {
			c, err := newChat(t, nlog)
			if err != nil {
				return nil, fmt.Errorf("notify[%d] (%s): %w", i, name, err)
			}
			s = c
		}
		ns = append(ns, &notifier{
			name: name, kinds: kinds, s: s, opts: opts, m: d.m, log: nlog,
			wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		})
		d.m.zero(name, kinds)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.abort = cancel
	d.notifiers = ns
	for _, n := range ns {
		go n.run(ctx)
	}
	return d, nil
}

// Notify queues ev for every notifier that takes its kind and returns at
// once; it fills ev's ID and Time when empty. It never blocks: a full
// queue drops its oldest event.
func (d *Dispatcher) Notify(ev Event) {
	if d == nil || len(d.notifiers) == 0 {
		return
	}
	if ev.ID == "" {
		ev.ID = newID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	for _, n := range d.notifiers {
		if n.kinds[ev.Kind] {
			n.push(ev)
		}
	}
}

// Close stops taking events and lets the workers send what is queued until
// ctx ends; then the sends in flight are cut off and what is left counts
// as dropped. It returns when every worker has stopped.
func (d *Dispatcher) Close(ctx context.Context) {
	if d == nil || d.abort == nil {
		return
	}
	d.closeOnce.Do(func() {
		for _, n := range d.notifiers {
			n.mu.Lock()
			n.closed = true
			n.mu.Unlock()
			close(n.stop)
		}
		all := make(chan struct{})
		go func() {
			for _, n := range d.notifiers {
				<-n.done
			}
			close(all)
		}()
		select {
		case <-all:
		case <-ctx.Done():
			d.abort()
			<-all
		}
		d.abort()
	})
}

// push adds ev to the queue, dropping the oldest event when it is full.
func (n *notifier) push(ev Event) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.m.inc(n.name, ev.Kind, outcomeDropped)
		n.log.Warn().Str("event", string(ev.Kind)).Str("event_id", ev.ID).Msg("notification dropped: shutting down")
		return
	}
	var old *Event
	if len(n.queue) >= n.opts.QueueSize {
		o := n.queue[0]
		old = &o
		n.queue = n.queue[1:]
	}
	n.queue = append(n.queue, ev)
	n.mu.Unlock()
	if old != nil {
		n.m.inc(n.name, old.Kind, outcomeDropped)
		n.log.Warn().Str("event", string(old.Kind)).Str("event_id", old.ID).Int("queue_size", n.opts.QueueSize).
			Msg("notification dropped: the notifier's queue is full")
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued event.
func (n *notifier) pop() (Event, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.queue) == 0 {
		return Event{}, false
	}
	ev := n.queue[0]
	n.queue[0] = Event{}
	n.queue = n.queue[1:]
	return ev, true
}

// run sends queued events one at a time until stopped and empty, or aborted.
func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for {
		for {
			if ctx.Err() != nil {
				n.dropRest()
				return
			}
			ev, ok := n.pop()
			if !ok {
				break
			}
			n.deliver(ctx, ev)
		}
		select {
		case <-n.wake:
		case <-n.stop:
			if n.empty() {
				return
			}
		case <-ctx.Done():
		}
	}
}

func (n *notifier) empty() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.queue) == 0
}

// dropRest counts what is still queued when sending is cut off.
func (n *notifier) dropRest() {
	for {
		ev, ok := n.pop()
		if !ok {
			return
		}
		n.m.inc(n.name, ev.Kind, outcomeDropped)
		n.log.Warn().Str("event", string(ev.Kind)).Str("event_id", ev.ID).Msg("notification dropped: shutdown deadline")
	}
}

// deliver tries ev up to Attempts times with growing waits between.
func (n *notifier) deliver(ctx context.Context, ev Event) {
	var err error
	wait := n.opts.Backoff
	attempt := 1
	for ; attempt <= n.opts.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			wait = min(2*wait, n.opts.MaxBackoff)
		}
		if ctx.Err() != nil {
			break
		}
		sctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
		err = n.s.send(sctx, ev)
		cancel()
		if err == nil {
			n.m.inc(n.name, ev.Kind, outcomeSent)
			n.log.Debug().Str("event", string(ev.Kind)).Str("event_id", ev.ID).Int("attempt", attempt).Msg("notification sent")
			return
		}
		var p permanent
		if errors.As(err, &p) {
			break
		}
		n.log.Debug().Err(err).Str("event", string(ev.Kind)).Str("event_id", ev.ID).Int("attempt", attempt).Msg("notification attempt failed")
	}
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	n.m.inc(n.name, ev.Kind, outcomeFailed)
	n.log.Warn().Err(err).Str("event", string(ev.Kind)).Str("event_id", ev.ID).Int("attempts", min(attempt, n.opts.Attempts)).
		Msg("notification failed")
}

// newID is a random event id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
