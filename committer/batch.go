package committer

import (
	"time"
)

// maxBatch caps the rewrites of one commit; a burst beyond it is committed
// in several batches.
const maxBatch = 5000

// dueAt is when a batch whose first rewrite arrived at first and last at
// last must be committed: after window of quiet, but no later than maxWait
// after the first. Zero durations mean at once.
func dueAt(first, last time.Time, window, maxWait time.Duration) time.Time {
	due := last.Add(window)
	if limit := first.Add(maxWait); limit.Before(due) {
		due = limit
	}
	return due
}

// batchTimer says when the batch being collected is due: its channel
// receives at dueAt of the batch's first and last arrival. It holds no
// messages, so the branch loop's timing is tested on its own, on a fake
// clock.
type batchTimer struct {
	window, maxWait time.Duration
	first, last     time.Time
	n               int
	timer           *time.Timer
}

// newBatchTimer is the timer of an empty batch: it does not fire until a
// rewrite arrives.
func newBatchTimer(window, maxWait time.Duration) *batchTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batchTimer{window: window, maxWait: maxWait, timer: t}
}

// add records a rewrite arriving now and sets the timer to the batch's new
// due time.
func (b *batchTimer) add() {
	now := time.Now()
	if b.n == 0 {
		b.first = now
	}
	b.last = now
	b.n++
	b.timer.Reset(time.Until(dueAt(b.first, b.last, b.window, b.maxWait)))
}

// due receives when the batch is due.
func (b *batchTimer) due() <-chan time.Time { return b.timer.C }

// reset starts a new, empty batch; the timer is stopped until a rewrite
// arrives.
func (b *batchTimer) reset() {
	b.timer.Stop()
	b.n = 0
}
