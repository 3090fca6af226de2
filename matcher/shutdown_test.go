package matcher

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// TestMatcherShutdownHandsBackBufferedPushes covers a matcher stopped (a
// rolling update, a scale down) while JetStream had delivered pushes into
// its pull that it had not handed to a worker yet: they were discarded, and
// the next matcher got them only after the push consumer's ack wait. They
// must be handed back at once instead, so the matcher still running decides
// every push well inside the ack wait.
func TestMatcherShutdownHandsBackBufferedPushes(t *testing.T) {
	const n = 300
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	r.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	b := bustest.Start(t)
	repos := []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Paths: []string{"."}}}

	// One worker and a pull of two: pushes delivered to it wait in the
	// pull's buffer while the worker decides one.
	leaves := runMatcher(t, b.Conn, Config{Repos: repos, Workers: 1})
	testenv.Eventually(t, "the leaving matcher consuming", leaves.svc.Consuming)
	published := make(chan error, 1)
	go func() {
		for i := range n {
			now := time.Now().UTC()
			ev := bus.PushEvent{ID: fmt.Sprintf("ev-%03d", i), Registry: "127.0.0.1:5000", Repository: "team/app",
				Tag: fmt.Sprintf("1.2.%d", 4+i), PushedAt: now, ReceivedAt: now}
			if err := publishPush(b.Conn, ev); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	// More pushes delivered and not acknowledged than its worker and the
	// hand-over to it hold: the others sit in the pull's buffer.
	testenv.Eventually(t, "pushes delivered ahead of the worker", func() bool {
		info, ok := pushConsumerInfo(t, b.Conn)
		return ok && info.NumAckPending > 2
	})
	if err := leaves.halt(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := <-published; err != nil {
		t.Fatal(err)
	}

	// A push left in the stopped pull is redelivered only once the ack wait
	// has passed since it was delivered, just before the stop. Two thirds of
	// the ack wait is the deadline here: far above what starting a matcher
	// and deciding the pushes takes, and below that redelivery.
	stays := runMatcher(t, b.Conn, Config{Repos: repos})
	testenv.EventuallyWithin(t, bus.PushAckWait*2/3-time.Since(stopped), "every push decided by the next matcher", func() bool {
		info, ok := pushConsumerInfo(t, b.Conn)
		return ok && stays.svc.Consuming() && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// running is a matcher service running until halt (or the test's end).
type running struct {
	svc      *Service
	cancel   context.CancelFunc
	finished chan struct{}
	err      error // Run's, once finished is closed
}

// runMatcher runs a matcher on conn until halt or the test's end.
func runMatcher(t *testing.T, conn *bus.Conn, cfg Config) *running {
	t.Helper()
	svc, err := New(cfg, conn.JS, nil, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{svc: svc, cancel: cancel, finished: make(chan struct{})}
	go func() { r.err = svc.Run(ctx); close(r.finished) }()
	t.Cleanup(func() {
		if err := r.halt(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// halt stops the matcher and returns what Run returned.
func (r *running) halt() error {
	r.cancel()
	<-r.finished
	return r.err
}

// publishPush stores a push event as ingest does.
func publishPush(conn *bus.Conn, ev bus.PushEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = conn.JS.Publish(context.Background(), bus.PushSubject(ev.Registry, ev.Repository), b)
	return err
}

// pushConsumerInfo is the matchers' shared push consumer's state.
func pushConsumerInfo(t *testing.T, conn *bus.Conn) (*jetstream.ConsumerInfo, bool) {
	t.Helper()
	cons, err := conn.JS.Consumer(context.Background(), bus.PushStream, bus.MatcherConsumer)
	if err != nil {
		return nil, false
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		return nil, false
	}
	return info, true
}
