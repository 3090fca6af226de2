package matcher

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

var releaseYAML = testenv.HelmRelease("app", "127.0.0.1:5000/team/app:1.2.3", "semver:~1.2")

const lockedYAML = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: frozen
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/locked: "true"
spec:
  values:
    image: 127.0.0.1:5000/team/app:1.2.3
`

type harness struct {
	conn *bus.Conn
	svc  *Service
	reg  *prometheus.Registry
	done chan error
	stop context.CancelFunc
}

func startService(t *testing.T, cfg Config) *harness {
	t.Helper()
	return startServiceLogging(t, cfg, zerolog.New(zerolog.NewTestWriter(t)))
}

// startServiceLogging runs a matcher Service with cfg on a NATS server of
// its own, logging to log, until the test ends (failing it when Run
// returns an error).
func startServiceLogging(t *testing.T, cfg Config, log zerolog.Logger) *harness {
	t.Helper()
	return startServiceOn(t, bustest.Start(t).Conn, cfg, log)
}

// startServiceOn is startServiceLogging on conn, which other matchers of
// the test may share.
func startServiceOn(t *testing.T, conn *bus.Conn, cfg Config, log zerolog.Logger) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, conn.JS, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{conn: conn, svc: svc, reg: reg, done: make(chan error, 1), stop: cancel}
	go func() { h.done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

// halt stops the service before the test ends and returns what Run
// returned (the test's cleanup still sees it).
func (h *harness) halt() error {
	h.stop()
	err := <-h.done
	h.done <- err
	return err
}

func (h *harness) push(t *testing.T, ev bus.PushEvent) {
	t.Helper()
	b, _ := json.Marshal(ev)
	if _, err := h.conn.JS.Publish(context.Background(), bus.PushSubject(ev.Registry, ev.Repository), b); err != nil {
		t.Fatal(err)
	}
}

// rewrites collects every rewrite of repo/branch until n arrived.
func (h *harness) rewrites(t *testing.T, repo, branch string, n int) []bus.Rewrite {
	t.Helper()
	return h.rewritesWithin(t, repo, branch, n, 30*time.Second)
}

// rewritesWithin is rewrites with a deadline of its own.
func (h *harness) rewritesWithin(t *testing.T, repo, branch string, n int, within time.Duration) []bus.Rewrite {
	t.Helper()
	cons, err := h.conn.JS.CreateOrUpdateConsumer(context.Background(), bus.RewriteStream, bus.RewriteConsumerConfig(repo, branch))
	if err != nil {
		t.Fatal(err)
	}
	var out []bus.Rewrite
	deadline := time.Now().Add(within)
	for len(out) < n && time.Now().Before(deadline) {
		batch, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var rw bus.Rewrite
			if err := json.Unmarshal(m.Data(), &rw); err != nil {
				t.Fatal(err)
			}
			out = append(out, rw)
			m.Ack()
		}
	}
	if len(out) < n {
		t.Fatalf("got %d rewrites for %s/%s, want %d: %+v", len(out), repo, branch, n, out)
	}
	return out
}

// announce announces commit as the head of repo's branch, as the
// committer does after a push.
func (h *harness) announce(t *testing.T, repo, branch, commit string) {
	t.Helper()
	if err := bus.AnnounceHead(h.conn.NC, bus.Head{Repo: repo, Branch: branch, Commit: commit}); err != nil {
		t.Fatal(err)
	}
}

// pendingPushes is how many push events are not yet acknowledged.
func (h *harness) pendingPushes(t *testing.T) uint64 {
	t.Helper()
	return h.streamMsgs(t, bus.PushStream)
}

// streamMsgs is how many messages the stream holds.
func (h *harness) streamMsgs(t *testing.T, stream string) uint64 {
	t.Helper()
	st, err := h.conn.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestServiceTwoRepositories(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"apps/app.yaml": releaseYAML, "apps/frozen.yaml": lockedYAML})
	b := srv.NewRepo(t, "b")
	b.SeedFiles(t, "prod", map[string]string{"release.yaml": releaseYAML})
	h := startService(t, Config{Repos: []Repo{
		{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"apps"}},
		{Name: "b", URL: b.URL, Branch: "prod", Paths: []string{"."}},
	}})
	testenv.Eventually(t, "service ready", h.svc.Ready)

	now := time.Now().UTC()
	ev := bus.PushEvent{ID: "ev-1", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now}
	h.push(t, ev)
	// An older, non-matching and excluded push produce nothing.
	h.push(t, bus.PushEvent{ID: "ev-old", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.1", PushedAt: now, ReceivedAt: now})
	h.push(t, bus.PushEvent{ID: "ev-13", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.3.0", PushedAt: now, ReceivedAt: now})
	h.push(t, bus.PushEvent{ID: "ev-latest", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "latest", PushedAt: now, ReceivedAt: now})
	// The same event again (a redelivery) is stored once.
	h.push(t, ev)

	ra := h.rewrites(t, "a", "main", 1)
	rb := h.rewrites(t, "b", "prod", 1)
	for _, rw := range []bus.Rewrite{ra[0], rb[0]} {
		if rw.Old != "127.0.0.1:5000/team/app:1.2.3" || rw.New != "127.0.0.1:5000/team/app:1.2.4" ||
			!slices.Equal(rw.EventIDs, []string{"ev-1"}) || rw.Resource != "apps:helmrelease/app" || rw.Tag != "1.2.4" {
			t.Errorf("rewrite = %+v", rw)
		}
		if !rw.ReceivedAt.Equal(now) {
			t.Errorf("ReceivedAt = %v, want %v (latency starts there)", rw.ReceivedAt, now)
		}
	}
	if ra[0].File != "apps/app.yaml" || rb[0].File != "release.yaml" {
		t.Errorf("files: %s, %s", ra[0].File, rb[0].File)
	}
	testenv.Eventually(t, "every push acknowledged", func() bool { return h.pendingPushes(t) == 0 })
	if extra := h.rewrites(t, "a", "main", 0); len(extra) != 0 {
		t.Errorf("extra rewrites: %+v", extra)
	}
	if got := testutil.ToFloat64(h.svc.m.rewrites.WithLabelValues("a")); got != 1 {
		t.Errorf("rewrites metric for a = %v, want 1 (a redelivery publishes a duplicate JetStream drops)", got)
	}
	if got := testutil.ToFloat64(h.svc.m.decisions.WithLabelValues("a", "locked")); got != 5 {
		t.Errorf("locked decisions = %v, want 5", got)
	}
	if got := testutil.ToFloat64(h.svc.m.indexSites.WithLabelValues("a")); got != 2 {
		t.Errorf("index sites of a = %v, want 2", got)
	}
	// The tag's first-seen time is stored under its canonical name.
	if seen, ok := h.svc.times.FirstSeen(context.Background(), "127.0.0.1:5000/team/app", "1.2.4"); !ok || !seen.Equal(now) {
		t.Errorf("first seen = %v, %v", seen, ok)
	}
}

func TestServiceReindexesOnAnnouncedHead(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML, "gone.yaml": lockedYAML})
	h := startService(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	if n := h.svc.Index("a").Len(); n != 2 {
		t.Fatalf("index holds %d sites, want 2", n)
	}
	// A person moves the tag to 1.2.9 and deletes a file; the committer's
	// announcement (here sent by the test) makes the matcher fetch.
	moved := []byte(releaseYAML)
	moved = []byte(string(moved[:len(moved)-len("1.2.3\n")]) + "1.2.9\n")
	head := a.SeedFiles(t, "main", map[string]string{"app.yaml": string(moved)})
	h.announce(t, "a", "main", head)
	testenv.Eventually(t, "reindex after the head", func() bool {
		sites := h.svc.Index("a").Lookup("127.0.0.1:5000/team/app")
		return len(sites) == 1 && sites[0].Ref.Tag == "1.2.9"
	})
	// The update is counted when it returns, after the index it changed
	// is already visible (and after the holds of the changed files are
	// checked): wait for the count, then check it stays at one.
	headReindexes := func() float64 {
		return testutil.ToFloat64(h.svc.m.reindexes.WithLabelValues("a", "head", "updated"))
	}
	testenv.Eventually(t, "the head reindex counted", func() bool { return headReindexes() >= 1 })
	// 1.2.5 is now older than the file's tag: nothing is rewritten.
	now := time.Now()
	h.push(t, bus.PushEvent{ID: "ev", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.5", PushedAt: now, ReceivedAt: now})
	testenv.Eventually(t, "push acknowledged", func() bool { return h.pendingPushes(t) == 0 })
	if rws := h.rewrites(t, "a", "main", 0); len(rws) != 0 {
		t.Fatalf("rewrites for an older tag: %+v", rws)
	}
	if got := headReindexes(); got != 1 {
		t.Errorf("head reindexes = %v, want 1", got)
	}
}

func TestServicePeriodicFetch(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"x.txt": "no manifests yet"})
	h := startService(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main", FetchInterval: 50 * time.Millisecond}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	testenv.Eventually(t, "periodic fetch indexes the new file", func() bool { return h.svc.Index("a").Len() == 1 })
}

// A repository that cannot be read keeps the matcher unready (pushes are
// still matched against the others: TestOneBrokenRepositoryStopsAllOfThem).
func TestServiceUnreadyWhileARepositoryFails(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	h := startService(t, Config{Repos: []Repo{
		{Name: "a", URL: a.URL, Branch: "main"},
		{Name: "missing", URL: srv.URL + "/missing.git", Branch: "main"},
	}})
	testenv.Eventually(t, "repository a indexed", func() bool { return testutil.ToFloat64(h.svc.m.indexSites.WithLabelValues("a")) == 1 })
	testenv.Eventually(t, "a failed attempt on the missing repository", func() bool {
		return testutil.ToFloat64(h.svc.m.reindexes.WithLabelValues("missing", "start", "failed")) >= 1
	})
	if h.svc.Ready() {
		t.Fatal("ready with a repository that cannot be fetched")
	}
}

func TestRewriteMsgID(t *testing.T) {
	ev := bus.PushEvent{ID: "e1"}
	a := bus.Rewrite{Repo: "r", Branch: "main", File: "f.yaml", Resource: "x", Container: "c", New: "img:2"}
	b := a
	b.Container = "d"
	if id := RewriteMsgID(ev, a); RewriteMsgID(ev, a) != id || id == RewriteMsgID(ev, b) {
		t.Fatal("message id must be stable per (event, site) and differ between sites")
	}
	if RewriteMsgID(ev, a) == RewriteMsgID(bus.PushEvent{ID: "e2"}, a) {
		t.Fatal("message id must differ between events")
	}
}
