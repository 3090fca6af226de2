package committer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// testBus is an embedded NATS server with hoist's streams.
type testBus struct {
	url string
	nc  *nats.Conn
	js  jetstream.JetStream

	mu sync.Mutex
	// stored is the stream sequence of the last rewrite stored per subject:
	// a branch has settled once its consumer acknowledged up to it.
	stored map[string]uint64
}

func startBus(t testing.TB) *testBus {
	t.Helper()
	b := bustest.Start(t)
	return &testBus{url: b.URL, nc: b.NC, js: b.JS, stored: map[string]uint64{}}
}

// publish stores rewrites in the rewrite stream.
func (b *testBus) publish(t testing.TB, rws ...bus.Rewrite) {
	t.Helper()
	if err := b.store(rws...); err != nil {
		t.Fatal(err)
	}
}

// store is publish for goroutines other than the test's.
func (b *testBus) store(rws ...bus.Rewrite) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, rw := range rws {
		data, err := json.Marshal(rw)
		if err != nil {
			return err
		}
		subject := bus.RewriteSubject(rw.Repo, rw.Branch)
		ack, err := b.js.Publish(ctx, subject, data)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.stored[subject] = max(b.stored[subject], ack.Sequence)
		b.mu.Unlock()
	}
	return nil
}

// heads subscribes to head announcements of every branch.
func (b *testBus) heads(t testing.TB) <-chan bus.Head {
	t.Helper()
	ch := make(chan bus.Head, 1000)
	sub, err := bus.SubscribeHeads(b.nc, func(h bus.Head) { ch <- h })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return ch
}

// waitSettled waits until the branch's consumer has no message pending or
// unacknowledged, polling the server for at most within.
func (b *testBus) waitSettled(t testing.TB, repo, branch string, within time.Duration) {
	t.Helper()
	var last *jetstream.ConsumerInfo
	defer func() { // Eventually fails the test with Goexit, which runs this
		if t.Failed() {
			t.Logf("the consumer of %s %s, last seen: %+v", repo, branch, last)
		}
	}()
	testenv.EventuallyWithin(t, within, fmt.Sprintf("the consumer of %s %s to settle", repo, branch), func() bool {
		info, ok := b.consumerInfo(repo, branch)
		if ok {
			last = info
		}
		// The consumer's counts lag a publish a moment, so "nothing pending"
		// alone can be the state from before the last rewrite was stored:
		// it must also have acknowledged up to that rewrite.
		b.mu.Lock()
		last := b.stored[bus.RewriteSubject(repo, branch)]
		b.mu.Unlock()
		return ok && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0 && info.AckFloor.Stream >= last
	})
}

// consumerInfo is the branch's consumer's state, if the server answers.
func (b *testBus) consumerInfo(repo, branch string) (*jetstream.ConsumerInfo, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := b.js.Consumer(ctx, bus.RewriteStream, bus.RewriteConsumerName(repo, branch))
	if err != nil {
		return nil, false
	}
	info, err := c.Info(ctx)
	return info, err == nil
}

// runCommitter runs a committer until the test ends and fails the test if
// Run returns an error.
func runCommitter(t testing.TB, c *Committer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("committer: %v", err)
		}
	})
}

// metricValue is the value of the counter (or the sample count of the
// histogram) name with the given labels in reg; 0 when absent.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	v, _ := testenv.MetricValue(t, reg, name, want)
	return v
}

// waitHeld waits until the branch's consumer has delivered n messages that
// are not acknowledged yet (a committer holds them in a batch).
func (b *testBus) waitHeld(t testing.TB, repo, branch string, n int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("the consumer of %s %s to hold %d messages", repo, branch, n), func() bool {
		info, ok := b.consumerInfo(repo, branch)
		return ok && info.NumAckPending == n
	})
}
