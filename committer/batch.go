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

// batcher tracks the timing of the batch being collected.
type batcher struct {
	window, maxWait time.Duration
	first, last     time.Time
	n               int
}

// add records a rewrite arriving at now and returns the batch's new due time.
func (b *batcher) add(now time.Time) time.Time {
	if b.n == 0 {
		b.first = now
	}
	b.last = now
	b.n++
	return dueAt(b.first, b.last, b.window, b.maxWait)
}

// reset starts a new, empty batch.
func (b *batcher) reset() { b.n = 0 }
