package ingest

import (
	"sync"
	"time"
)

// bodyMemoryWait is how long a body read waits for memory other deliveries
// hold before its delivery is answered 503: long enough to ride out a burst
// of large bodies, short enough that a registry is not kept hanging.
const bodyMemoryWait = time.Second

// budget is a count of bytes that body reads take before they grow a buffer
// and give back when their delivery is answered, so that all body reads
// together hold a bounded amount of memory, however many clients announce
// large bodies. Only bodies larger than minBodyBuffer use it.
type budget struct {
	mu      sync.Mutex
	free    int64
	wait    time.Duration
	waiters int
	freed   chan struct{} // closed when bytes are given back while someone waits
}

func newBudget(size int64, wait time.Duration) *budget {
	return &budget{free: size, wait: wait, freed: make(chan struct{})}
}

// take reserves n bytes, waiting up to b.wait for others to give them back;
// it reports whether it got them.
func (b *budget) take(n int64) bool {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		b.waiters++
		freed := b.freed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(b.wait)
			defer timer.Stop()
		}
		select {
		case <-freed:
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
		case <-timer.C:
			b.mu.Lock()
			b.waiters--
			b.mu.Unlock()
			return false
		}
	}
}

// takeNow reserves n bytes if they are free, without waiting.
func (b *budget) takeNow(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.free < n {
		return false
	}
	b.free -= n
	return true
}

// give returns n bytes taken earlier and wakes those waiting for them.
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.free += n
	if b.waiters > 0 {
		close(b.freed)
		b.freed = make(chan struct{})
	}
	b.mu.Unlock()
}
