package committer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// TestShutdownHandsBackBufferedMessages covers a flake of
// TestCommitterHandsBackHeldBatchAtShutdown on a loaded machine: messages
// JetStream had delivered into the committer's pull buffer, but that the
// committer had not read yet, were discarded at shutdown instead of handed
// back, so the next committer got them only after the two-minute ack wait.
// Many messages in flight at the cancel leave some in that buffer.
func TestShutdownHandsBackBufferedMessages(t *testing.T) {
	const n = 2 * maxPull
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, n)
	b := startBus(t)
	heads := b.heads(t)
	repo := Repo{Name: "gitops", URL: r.URL, Branch: "main", Commit: Commit{Window: time.Hour, MaxWait: time.Hour}}
	first, err := New(Config{Repos: []Repo{repo}, DataDir: t.TempDir(), Editor: testEditor()}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	testenv.Eventually(t, "the first committer loaded", first.Ready)
	var rws []bus.Rewrite
	for i := range n {
		rws = append(rws, appRewrite("gitops", i, "1.0.0", "1.1.0", fmt.Sprintf("ev-%04d", i)))
	}
	// Cancel while messages stream in: some are in the pull buffer then.
	published := make(chan error, 1)
	go func() { published <- b.store(rws...) }()
	testenv.Eventually(t, "messages delivered to the first committer", func() bool {
		info, ok := b.consumerInfo("gitops", "main")
		return ok && info.NumAckPending >= n/10
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}

	repo.Commit = Commit{}
	second, err := New(Config{Repos: []Repo{repo}, DataDir: t.TempDir(), Editor: testEditor()}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, second)
	waitHandedBackLanded(t, b, heads, n)
}

// waitHandedBackLanded waits until the heads announced carry n event ids:
// handed-back rewrites must land within a minute, well before the two-minute
// ack wait after which JetStream redelivers what was never handed back.
func waitHandedBackLanded(t *testing.T, b *testBus, heads <-chan bus.Head, n int) {
	t.Helper()
	landed := map[string]bool{}
	deadline := time.After(time.Minute)
	for len(landed) < n {
		select {
		case h := <-heads:
			for _, id := range h.EventIDs {
				landed[id] = true
			}
		case <-deadline:
			info, _ := b.consumerInfo("gitops", "main")
			t.Fatalf("%d of %d handed-back rewrites committed by the next committer within a minute (consumer: %d ack pending, %d redelivered)",
				len(landed), n, info.NumAckPending, info.NumRedelivered)
		}
	}
}
