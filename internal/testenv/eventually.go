package testenv

import (
	"testing"
	"time"
)

// WaitLimit bounds every wait in hoist's tests. It is far above what any
// wait takes on a loaded machine: a wait only reaches it when the awaited
// thing never happens, and then the test should say so rather than hang.
const WaitLimit = 2 * time.Minute

// Eventually re-checks cond until it holds, and fails the test naming what
// it waited for once WaitLimit has passed. It is the one deadline poller of
// hoist's tests: they never sleep to let something happen.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, WaitLimit, what, cond)
}

// EventuallyWithin is Eventually with its own bound, for a helper whose
// callers name one.
func EventuallyWithin(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // the polling interval, not a synchronisation
	}
}

// Receive waits for the next value on ch and returns it, failing the test
// naming what it waited for once WaitLimit has passed: the one bounded
// channel wait of hoist's tests.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(WaitLimit):
		t.Fatalf("timed out after %v waiting for %s", WaitLimit, what)
		var zero T
		return zero
	}
}
