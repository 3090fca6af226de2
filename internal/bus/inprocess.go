package bus

import (
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// inProcess hands nats.go connections through an embedded server's
// in-process pipe, each with its writes queued (queuedConn).
type inProcess struct{ s *server.Server }

// InProcessConn implements nats.InProcessConnProvider.
func (p inProcess) InProcessConn() (net.Conn, error) {
	c, err := p.s.InProcessConn()
	if err != nil {
		return nil, err
	}
	return newQueuedConn(c, maxQueued, closeFlushTimeout), nil
}

// Limits of a queuedConn.
const (
	// maxQueued is how many bytes a queuedConn holds before Write waits,
	// about what a socket's send buffer holds.
	maxQueued = 1 << 20
	// queuedWriteTimeout bounds one write to the pipe, as nats.go's flusher
	// timeout (1 minute by default) bounds its writes to a socket.
	queuedWriteTimeout = time.Minute
	// closeFlushTimeout is how long Close lets the writer hand over what is
	// queued (nats.go flushes just before it closes) to a server that reads.
	closeFlushTimeout = 2 * time.Second
)

// queuedConn is a connection whose writes are queued and written by a
// goroutine of its own, as a socket's writes are queued in the kernel.
// nats.go writes a connection's buffered publishes while holding the
// connection's lock, and net.Pipe (the embedded server's in-process
// connection) returns from Write only once the server's read loop has taken
// every byte, so every publisher waited for the server. Queued, the lock is
// held for a copy, and the writer carries all that queued up meanwhile in one
// write.
//
// Kept: it pays on its own. Left out of ingest's set of fast paths (the set
// against the set on nats.go's own in-process pipe, two connections) in the
// paired A/B of BENCHMARKS.md's ingest section ("What the hand-written fast
// paths buy"), CPU per webhook was 1.033 times as high without it (median, 25
// of 30 rounds) and 1.044 (25 of 30), in two runs of 6 Dec 2026 whose A/A
// control's middle 80% lay within 0.958–1.024 and 0.951–1.059. The set
// (ingest's reply slots, queuedConn, pools) against the library path: 1.225
// (30 of 30) and 1.227 (30 of 30).
type queuedConn struct {
	net.Conn

	maxQueued         int           // bytes queued before Write waits
	closeFlushTimeout time.Duration // how long Close lets the writer finish

	mu      sync.Mutex
	room    sync.Cond     // signalled when the writer takes the queue or stops
	queue   []byte        // written, not yet taken by the writer
	spare   []byte        // the writer's last buffer, for the next queue
	err     error         // why writes fail from now on
	closing bool          // Close was called: no more writes
	wake    chan struct{} // something to write, or closing
	done    chan struct{} // closed when the writer has stopped
}

// newQueuedConn queues c's writes, holding up to max bytes, and lets Close
// hand them over for at most flush.
func newQueuedConn(c net.Conn, max int, flush time.Duration) *queuedConn {
	q := &queuedConn{Conn: c, maxQueued: max, closeFlushTimeout: flush, wake: make(chan struct{}, 1), done: make(chan struct{})}
	q.room.L = &q.mu
	go q.writer()
	return q
}

// Write queues p; it waits only while q.maxQueued bytes are queued.
func (q *queuedConn) Write(p []byte) (int, error) {
	q.mu.Lock()
	for q.err == nil && !q.closing && len(q.queue) >= q.maxQueued {
		q.room.Wait()
	}
	switch {
	case q.err != nil:
		err := q.err
		q.mu.Unlock()
		return 0, err
	case q.closing:
		q.mu.Unlock()
		return 0, net.ErrClosed
	}
	q.queue = append(q.queue, p...)
	q.mu.Unlock()
	q.kick()
	return len(p), nil
}

// kick wakes the writer, if it is not awake already.
func (q *queuedConn) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// writer writes what is queued, in turn, until Close or a failed write.
func (q *queuedConn) writer() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.queue) == 0 && !q.closing {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if len(q.queue) == 0 { // closing, and everything was written
			q.mu.Unlock()
			return
		}
		b := q.queue
		q.queue, q.spare = q.spare[:0], nil
		q.room.Broadcast()
		q.mu.Unlock()

		err := q.Conn.SetWriteDeadline(time.Now().Add(queuedWriteTimeout))
		if err == nil {
			_, err = q.Conn.Write(b)
		}
		q.mu.Lock()
		q.spare = b[:0]
		if err != nil {
			q.err = err
			q.room.Broadcast()
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// Close lets the writer write what is queued (for at most
// q.closeFlushTimeout), then closes the connection.
func (q *queuedConn) Close() error {
	q.mu.Lock()
	already := q.closing
	q.closing = true
	q.room.Broadcast()
	q.mu.Unlock()
	if already {
		return net.ErrClosed
	}
	q.kick()
	t := time.NewTimer(q.closeFlushTimeout)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
	}
	err := q.Conn.Close() // a writer still in Write gets an error and stops
	<-q.done
	return err
}

// SetDeadline sets the read deadline: the writer times its own writes.
func (q *queuedConn) SetDeadline(t time.Time) error { return q.Conn.SetReadDeadline(t) }

// SetWriteDeadline does nothing: a Write returns once its bytes are queued,
// and the writer times its own writes.
func (q *queuedConn) SetWriteDeadline(time.Time) error { return nil }
