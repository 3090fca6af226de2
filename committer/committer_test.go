package committer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/prometheus/client_golang/prometheus"
)

// waitHead waits for the next head announcement.
func waitHead(t *testing.T, heads <-chan bus.Head) bus.Head {
	t.Helper()
	select {
	case h := <-heads:
		return h
	case <-time.After(2 * time.Minute):
		t.Fatal("no head announced")
		return bus.Head{}
	}
}

func TestCommitterCommitsABatchAndAcksAfterThePush(t *testing.T) {
	srv := testgit.NewServer(t, testgit.WithBasicAuth("hoist", "t0ken"))
	r := srv.NewRepo(t, "gitops")
	seed := seedApps(t, r, 10)
	b := startBus(t)
	heads := b.heads(t)

	var rws []bus.Rewrite
	for i := range 10 {
		rws = append(rws, appRewrite("gitops", i, "1.0.0", "1.1.0", fmt.Sprintf("ev-%02d", i)))
	}
	// Stored before the committer starts: the whole backlog arrives well
	// inside the window and makes one batch.
	b.publish(t, rws...)

	reg := prometheus.NewRegistry()
	commit := DefaultCommit()
	commit.Window, commit.MaxWait = 3*time.Second, 30*time.Second
	c, err := New(Config{
		Repos:   []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Auth: Auth{Username: "hoist", Password: "t0ken"}, Commit: commit}},
		DataDir: t.TempDir(),
		Editor:  testEditor(),
	}, b.js, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)

	h := waitHead(t, heads)
	if h.Repo != "gitops" || h.Branch != "main" || h.Commit != r.Head(t, "main") || len(h.EventIDs) != 10 {
		t.Fatalf("head %+v, remote head %s", h, r.Head(t, "main"))
	}
	b.waitSettled(t, "gitops", "main", time.Minute)
	hist := r.Log(t, "main")
	if len(hist.Commits) != 2 || hist.Commits[1] != seed {
		t.Fatalf("history %v, want the seed and one commit", hist.Commits)
	}
	changed := testgit.Lines(testgit.Git(t, r.Dir, "diff", "--name-only", seed, "main"))
	if len(changed) != 10 {
		t.Fatalf("changed %v, want the 10 files", changed)
	}
	trailer := testgit.Git(t, r.Dir, "log", "-1", "--format=%(trailers:key=Hoist-Event-Ids,valueonly)", "main")
	if strings.Count(trailer, "ev-") != 10 {
		t.Fatalf("trailer %q, want the 10 event ids", trailer)
	}
	r.Fsck(t)
	if !c.Ready() {
		t.Error("committer not ready after committing")
	}

	// A redelivered rewrite changes nothing: no commit, still acknowledged.
	b.publish(t, rws[0])
	b.waitSettled(t, "gitops", "main", time.Minute)
	if got := r.Head(t, "main"); got != h.Commit {
		t.Fatalf("head moved to %s on a no-op rewrite", got)
	}
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoist_committer_commits_total", []string{"repo", "gitops"}, 1},
		{"hoist_committer_rewrites_total", []string{"repo", "gitops", "outcome", "applied"}, 10},
		{"hoist_committer_rewrites_total", []string{"repo", "gitops", "outcome", "dropped"}, 1},
		{"hoist_committer_push_retries_total", []string{"repo", "gitops"}, 0},
		{"hoist_committer_batches_total", []string{"repo", "gitops", "result", "unchanged"}, 1},
		{"hoist_end_to_end_latency_seconds", []string{"repo", "gitops"}, 10},
	} {
		if got := metricValue(t, reg, m.name, m.labels...); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}

// TestCommitterRacesAPersonPushingAllTheTime has a person push a commit to
// the branch every few milliseconds while hoist commits 500 rewrites: every
// rewrite lands exactly once, every one of the person's commits is kept, and
// the history stays linear.
func TestCommitterRacesAPersonPushingAllTheTime(t *testing.T) {
	const rewrites, burst, persons, personCommits = 500, 20, 2, 10
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, rewrites)
	b := startBus(t)
	heads := b.heads(t)
	reg := prometheus.NewRegistry()
	c, err := New(Config{
		Repos:   []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Commit: Commit{}}}, // window 0: commit at once
		DataDir: t.TempDir(),
		Editor:  testEditor(),
		Retry:   Retry{Attempts: 6, Base: 5 * time.Millisecond, Max: 100 * time.Millisecond, NakDelay: 100 * time.Millisecond},
	}, b.js, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)

	var wg sync.WaitGroup
	personErr := make(chan error, persons+1)
	for p := range persons {
		dir := r.Clone(t, "main")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pushLoop(dir, fmt.Sprintf("person%d", p), personCommits); err != nil {
				personErr <- err
			}
		}()
	}
	wg.Add(1)
	next := make(chan struct{}, 1)
	go func() { // the registry: a burst, then the next once hoist pushed
		defer wg.Done()
		for i := 0; i < rewrites; i += burst {
			var rws []bus.Rewrite
			for j := i; j < i+burst; j++ {
				rws = append(rws, appRewrite("gitops", j, "1.0.0", "1.1.0", fmt.Sprintf("ev-%03d", j)))
			}
			if err := b.store(rws...); err != nil {
				personErr <- err
				return
			}
			<-next
		}
	}()

	landed := map[string]bool{}
	for len(landed) < rewrites {
		for _, id := range waitHead(t, heads).EventIDs {
			if landed[id] {
				t.Fatalf("event %s committed twice", id)
			}
			landed[id] = true
		}
		select {
		case next <- struct{}{}:
		default:
		}
	}
	wg.Wait()
	select {
	case err := <-personErr:
		t.Fatalf("person: %v", err)
	default:
	}
	b.waitSettled(t, "gitops", "main", time.Minute)

	hist := r.Log(t, "main")
	if len(hist.Merges) != 0 {
		t.Fatalf("merge commits %v", hist.Merges)
	}
	kept := 0
	for _, s := range hist.Subjects {
		if strings.HasPrefix(s, "person") {
			kept++
		}
	}
	if kept != persons*personCommits {
		t.Fatalf("%d of the people's %d commits in the history", kept, persons*personCommits)
	}
	// Every file changed by exactly one hoist commit, and reads the new tag.
	touched := map[string]int{}
	for _, f := range testgit.Lines(testgit.Git(t, r.Dir, "log", "--format=", "--name-only", "--author=hoist", "main")) {
		touched[f]++
	}
	for i := range rewrites {
		if touched[appFile(i)] != 1 {
			t.Fatalf("%s changed by %d hoist commits, want 1", appFile(i), touched[appFile(i)])
		}
	}
	tree := testgit.Git(t, r.Dir, "grep", "-c", ":1.1.0", "main", "--", "apps")
	if n := len(testgit.Lines(tree)); n != rewrites {
		t.Fatalf("%d files read the new tag, want %d", n, rewrites)
	}
	if n := strings.TrimSpace(testgit.Git(t, r.Dir, "rev-list", "--count", "--min-parents=2", "main")); n != "0" {
		t.Fatalf("%s merges", n)
	}
	r.Fsck(t)
	r.ReflogFastForwardOnly(t, "main")
	t.Logf("%d commits; %v push retries", len(hist.Commits), metricValue(t, reg, "hoist_committer_push_retries_total"))
}

// pushLoop is a person at work: n times, add a file, commit, and push,
// pulling with rebase whenever someone pushed first.
func pushLoop(dir, who string, n int) error {
	for k := range n {
		name := fmt.Sprintf("%s-%02d.md", who, k)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(who+"\n"), 0o644); err != nil {
			return err
		}
		if _, err := testgit.Run(dir, "add", name); err != nil {
			return err
		}
		if _, err := testgit.Run(dir, "commit", "--quiet", "-m", fmt.Sprintf("%s %02d", who, k)); err != nil {
			return err
		}
		for try := 0; ; try++ {
			_, err := testgit.Run(dir, "push", "--quiet", "origin", "main")
			if err == nil {
				break
			}
			if try == 100 {
				return err
			}
			if _, err := testgit.Run(dir, "pull", "--quiet", "--rebase", "origin", "main"); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestCommitterHandsBackHeldBatchAtShutdown stops a committer that holds a
// batch (its window has not passed): the messages go back to JetStream at
// once, so the next committer commits them without waiting for the ack
// deadline (two minutes).
func TestCommitterHandsBackHeldBatchAtShutdown(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seed := seedApps(t, r, 3)
	b := startBus(t)
	heads := b.heads(t)
	repo := Repo{Name: "gitops", URL: r.URL, Branch: "main", Commit: Commit{Window: time.Hour, MaxWait: time.Hour}}
	first, err := New(Config{Repos: []Repo{repo}, DataDir: t.TempDir(), Editor: testEditor()}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if first.Ready() {
		t.Fatal("ready before the clone was loaded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"), appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1"))
	b.waitHeld(t, "gitops", "main", 2)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.Head(t, "main"); got != seed {
		t.Fatalf("committed %s inside the window", got)
	}

	repo.Commit = Commit{}
	second, err := New(Config{Repos: []Repo{repo}, DataDir: t.TempDir(), Editor: testEditor()}, b.js, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, second)
	waitHandedBackLanded(t, b, heads, 2)
}
