package ingest

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// replies is how one connection's publishes wait for their JetStream acks:
// a set of reply subjects ("slots"), each subscribed once and reused by one
// request at a time.
//
// nats.go's RequestMsg makes a new reply subject for every request, routes
// the reply through a map under the connection's lock and then the
// goroutine of its reply subscription, and each new subject misses the
// server's subject cache. A slot's subject is the same for every request it
// carries, and its reply goes from the connection's read loop straight into
// the slot's channel.
//
// Kept: it pays on its own. Left out of the set (the set against the set with
// jetstream's PublishMsg) in the paired A/B of BENCHMARKS.md's ingest section
// ("What the hand-written fast paths buy"), CPU per webhook was 1.070 times as
// high without it (median, 28 of 30 rounds) and 1.069 (29 of 30), in two runs
// of 6 Dec 2026 whose A/A control's middle 80% lay within 0.958–1.024 and
// 0.951–1.059. The set (reply slots, queuedConn, pools) against the library
// path: 1.225 (30 of 30) and 1.227 (30 of 30).
type replies struct {
	nc     *nats.Conn
	prefix string // of the slots' subjects: an inbox of the connection's own

	down      atomic.Bool  // the connection was down when last asked
	checkedAt atomic.Int64 // when it was last asked, in Unix nanoseconds

	mu   sync.Mutex
	free []*replySlot // slots with no request in flight
	made int          // slots made so far; numbers the next one
}

// replySlot is a reply subject and the channel its replies arrive on.
type replySlot struct {
	subject string
	sub     *nats.Subscription
	ch      chan *nats.Msg // one request in flight, one reply
}

func newReplies(nc *nats.Conn) *replies {
	return &replies{nc: nc, prefix: nc.NewInbox() + "."}
}

// request publishes msg with a slot's reply subject and waits until
// deadline for the reply. A "no responders" status comes back as
// nats.ErrNoResponders, as RequestMsg returns it.
func (r *replies) request(msg *nats.Msg, deadline time.Time) (*nats.Msg, error) {
	s, err := r.take()
	if err != nil {
		return nil, err
	}
	msg.Reply = s.subject
	if err := r.nc.PublishMsg(msg); err != nil {
		r.put(s)
		return nil, err
	}
	var t *time.Timer
	if fastPaths.pools {
		t = timers.Get().(*time.Timer)
		t.Reset(time.Until(deadline))
		defer timers.Put(t)
	} else {
		t = time.NewTimer(time.Until(deadline))
	}
	select {
	case resp := <-s.ch:
		t.Stop()
		r.put(s)
		if len(resp.Data) == 0 && resp.Header.Get("Status") == "503" {
			return nil, nats.ErrNoResponders
		}
		return resp, nil
	case <-t.C:
		// The reply may still come, and must not reach the slot's next
		// request: the slot is given up, never reused.
		_ = s.sub.Unsubscribe()
		return nil, nats.ErrTimeout
	}
}

// connCheckEvery is how often a connection that is up is asked whether it
// still is: asking takes the lock every publish on it takes, so not on every
// delivery. A delivery within that time of a disconnection waits for its
// publish timeout, as it would without the check.
const connCheckEvery = 100 * time.Millisecond

// connected reports whether the connection is up (or draining). One found
// down is asked again on every call, so that it is used again as soon as
// it is back.
func (r *replies) connected(now time.Time) bool {
	t := now.UnixNano()
	if !r.down.Load() && t-r.checkedAt.Load() < int64(connCheckEvery) {
		return true
	}
	up := r.nc.IsConnected()
	r.down.Store(!up)
	r.checkedAt.Store(t)
	return up
}

// take returns a free slot, or makes one.
func (r *replies) take() (*replySlot, error) {
	r.mu.Lock()
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free = r.free[:n-1]
		r.mu.Unlock()
		return s, nil
	}
	r.made++
	s := &replySlot{subject: r.prefix + strconv.Itoa(r.made), ch: make(chan *nats.Msg, 1)}
	r.mu.Unlock()
	sub, err := r.nc.ChanSubscribe(s.subject, s.ch)
	if err != nil {
		return nil, err
	}
	s.sub = sub
	return s, nil
}

// put gives back a slot whose reply has arrived.
func (r *replies) put(s *replySlot) {
	r.mu.Lock()
	r.free = append(r.free, s)
	r.mu.Unlock()
}

// timers are stopped timers for request deadlines, pooled. Kept: the pools pay
// on their own (left out of the set: 1.057 times the CPU per webhook without
// them, 27 of 30 rounds; 1.053 (27 of 30)). See fastPaths and BENCHMARKS.md,
// ingest.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}
