package matcher

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// TestMatcherShutdownHandsBackBufferedPushes covers a matcher stopped (a
// rolling update, a scale down) while JetStream had delivered pushes into
// its pull that it had not handed to a worker yet: they were discarded, and
// the next matcher got them only after the push consumer's ack wait. They
// must be handed back at once instead, so the next matcher decides every
// push well inside the ack wait.
func TestMatcherShutdownHandsBackBufferedPushes(t *testing.T) {
	const n = 10
	// The leaving matcher's one worker is held in a registry check until
	// the test lets it go: the pushes delivered meanwhile stay in its pull.
	release := make(chan struct{})
	p := testregistry.NewProxy(t, "127.0.0.1:1", func(w http.ResponseWriter, r *http.Request) bool {
		<-release
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return true
	})
	letGo := sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo) // before the proxy's Close, which waits for its requests
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	r.SeedFiles(t, "main", map[string]string{"app.yaml": releaseOf(p.Host+"/team/app", "")})
	conn := bustest.Start(t).Conn
	repos := []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Paths: []string{"."}}}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)

	leaves := startServiceOn(t, conn, Config{Repos: repos, Workers: 1, Verifier: client}, log)
	testenv.Eventually(t, "the leaving matcher ready", leaves.svc.Ready)
	// The first push is older than the site's tag: decided without the
	// registry. The next, newer, holds the worker in the registry check.
	for i := range n {
		tag := fmt.Sprintf("1.2.%d", 3+i)
		if i == 0 {
			tag = "1.2.1"
		}
		now := time.Now().UTC()
		leaves.push(t, bus.PushEvent{ID: fmt.Sprintf("ev-%02d", i), Registry: p.Host, Repository: "team/app",
			Tag: tag, PushedAt: now, ReceivedAt: now})
	}
	// The first push acknowledged, and three not: the one the worker holds,
	// the one waiting to be handed to it, and at least one in the pull's
	// buffer (the pull asks for two more whenever it hands out its last).
	testenv.Eventually(t, "a push in the leaving matcher's pull buffer", func() bool {
		return leaves.pendingPushes(t) == n-1 && pushesAckPending(conn) >= 3
	})
	leaves.stop()
	letGo() // the held check fails; its push is handed back as any failed check is
	if err := leaves.halt(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()

	// A push left in the stopped pull is redelivered only once the ack wait
	// has passed since it was delivered, just before the stop. Two thirds of
	// the ack wait is the deadline here: far above what starting a matcher
	// and deciding the pushes takes, and below that redelivery.
	startServiceOn(t, conn, Config{Repos: repos}, log) // trusts the webhooks
	testenv.EventuallyWithin(t, bus.PushAckWait*2/3-time.Since(stopped), "every push decided by the next matcher", func() bool {
		return leaves.pendingPushes(t) == 0
	})
}

// pushesAckPending is how many pushes the matchers' consumer delivered
// that are not acknowledged yet (0 when it cannot be read).
func pushesAckPending(conn *bus.Conn) int {
	cons, err := conn.JS.Consumer(context.Background(), bus.PushStream, bus.MatcherConsumer)
	if err != nil {
		return 0
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.NumAckPending
}
