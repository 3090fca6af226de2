package matcher

import (
	"runtime"
	"sync"
)

// onCores runs do for each value given to add, on as many goroutines as
// there are cores (at most n, at least one); wait returns once every value
// added is done. Parsing manifests is the matcher's CPU work: a folder's
// index (AddFiles) and a repository's reindex (indexer) both run it here.
func onCores[T any](n int, do func(T)) (add func(T), wait func()) {
	workers := max(min(runtime.GOMAXPROCS(0), n), 1)
	next := make(chan T, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for v := range next {
				do(v)
			}
		})
	}
	return func(v T) { next <- v }, func() { close(next); wg.Wait() }
}
