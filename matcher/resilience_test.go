package matcher

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// state is the named repository's status.
func state(t *testing.T, s *Service, repo string) RepoStatus {
	t.Helper()
	for _, st := range s.Status() {
		if st.Name == repo {
			return st
		}
	}
	t.Fatalf("no status for %s", repo)
	return RepoStatus{}
}

// One broken repository (a missing branch, an unreachable URL) holds up no
// other: healthy ones are indexed and matched, the broken ones are retried
// and named by readiness, and a push waits for them instead of being lost.
func TestOneBrokenRepositoryStopsAllOfThem(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	late := srv.NewRepo(t, "late")
	late.SeedFiles(t, "main", map[string]string{"x.txt": "not the configured branch"})
	h := startService(t, Config{Repos: []Repo{
		{Name: "a", URL: a.URL, Branch: "main"},
		{Name: "late", URL: late.URL, Branch: "prod"},
		{Name: "gone", URL: "http://" + testenv.FreeAddr(t) + "/gone.git", Branch: "main"},
	}})
	testenv.Eventually(t, "pushes consumed", h.svc.Consuming)
	now := time.Now().UTC()
	h.push(t, bus.PushEvent{ID: "ev-1", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	if rw := h.rewrites(t, "a", "main", 1); rw[0].New != "127.0.0.1:5000/team/app:1.2.4" {
		t.Fatalf("rewrite = %+v", rw[0])
	}

	testenv.Eventually(t, "each broken repository retried", func() bool {
		return testutil.ToFloat64(h.svc.m.indexFailures.WithLabelValues("late")) >= 2 &&
			testutil.ToFloat64(h.svc.m.indexFailures.WithLabelValues("gone")) >= 2
	})
	if st := state(t, h.svc, "a"); st.State != StateReady || st.LastIndexed.IsZero() {
		t.Errorf("a: %+v", st)
	}
	for _, name := range []string{"late", "gone"} {
		st := state(t, h.svc, name)
		if st.State != StateFailing || st.Failures < 2 || st.LastError == "" {
			t.Errorf("%s: %+v", name, st)
		}
		if got := testutil.ToFloat64(h.svc.m.repoState.WithLabelValues(name, "failing")); got != 1 {
			t.Errorf("%s failing gauge = %v", name, got)
		}
	}
	if got := testutil.ToFloat64(h.svc.m.lastIndexed.WithLabelValues("a")); got == 0 {
		t.Error("no last-indexed time for a")
	}
	err := h.svc.Readiness(t.Context())
	if err == nil || !strings.Contains(err.Error(), "repository late (branch prod) failing") ||
		!strings.Contains(err.Error(), "repository gone (branch main) failing") || strings.Contains(err.Error(), "repository a ") {
		t.Fatalf("readiness = %v", err)
	}
	if !strings.Contains(err.Error(), "prod") || h.svc.Ready() {
		t.Fatalf("ready with broken repositories: %v", err)
	}
	// The push waits for the repositories not indexed: not acknowledged.
	if n := h.pendingPushes(t); n != 1 {
		t.Fatalf("%d pushes pending, want the one waiting", n)
	}

	// The branch appears: the waiting push is decided there too, and still
	// waits for the repository that stays unreachable.
	late.SeedFiles(t, "prod", map[string]string{"release.yaml": releaseYAML})
	testenv.Eventually(t, "late indexed", func() bool { return state(t, h.svc, "late").State == StateReady })
	if rw := h.rewritesWithin(t, "late", "prod", 1, 2*time.Minute); rw[0].New != "127.0.0.1:5000/team/app:1.2.4" {
		t.Fatalf("rewrite = %+v", rw[0])
	}
	if n := h.pendingPushes(t); n != 1 {
		t.Fatalf("%d pushes pending, want the one waiting for gone", n)
	}
	if extra := h.rewrites(t, "a", "main", 0); len(extra) != 0 {
		t.Fatalf("a decided twice: %+v", extra)
	}
}

// A refresh that fails (a 502 while the copy is rebuilt), then a commit
// before the next fetch, must not leave the index stale for ever; while
// refreshes fail, readiness says the index is stale.
func TestIndexCanStayStaleForever(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"x.txt": "no manifests yet"})
	px := newFlakyProxy(t, srv.URL)
	// CompactEvery 1: every new head rebuilds the copy from a fresh clone.
	h := startService(t, Config{CompactEvery: 1, Repos: []Repo{{Name: "a", URL: px.URL + "/a.git", Branch: "main"}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)

	px.Fail.Store(1)
	h.announce(t, "a", "main", a.Head(t, "main"))
	testenv.Eventually(t, "the rebuild failed", func() bool {
		return testutil.ToFloat64(h.svc.m.reindexes.WithLabelValues("a", "compact", "failed")) == 1
	})
	head := a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	h.announce(t, "a", "main", head)
	testenv.Eventually(t, "the new file indexed", func() bool { return h.svc.Index("a").Len() == 1 })
	testenv.Eventually(t, "ready again", h.svc.Ready)

	// A server that keeps failing: the index is stale, and readiness says so.
	px.Fail.Store(1 << 40)
	head = a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML, "b.yaml": lockedYAML})
	h.announce(t, "a", "main", head)
	testenv.Eventually(t, "stale", func() bool { return state(t, h.svc, "a").State == StateStale })
	if err := h.svc.Readiness(t.Context()); err == nil || !strings.Contains(err.Error(), "repository a (branch main) stale") ||
		!strings.Contains(err.Error(), "502") {
		t.Fatalf("readiness = %v", err)
	}
	if !h.svc.Consuming() {
		t.Fatal("a stale index stops consumption")
	}
	px.Fail.Store(0)
	testenv.Eventually(t, "recovered", func() bool { return h.svc.Ready() && h.svc.Index("a").Len() == 2 })
}

// An index whose fetches stop succeeding (for whatever reason) turns stale
// after three fetch intervals.
func TestIndexStaleWhenFetchesOverdue(t *testing.T) {
	svc, err := New(Config{Repos: []Repo{{Name: "a", URL: "http://127.0.0.1:1/a.git", Branch: "main", FetchInterval: time.Minute}}}, bustest.Start(t).Conn.JS, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	r := svc.repos[0]
	r.indexed.Store(true)
	svc.recordAttempt(r, nil)
	if st := svc.Status()[0]; st.State != StateReady {
		t.Fatalf("state = %s", st.State)
	}
	r.mu.Lock()
	r.status.LastIndexed = time.Now().Add(-3*time.Minute - DefaultGitTimeout - time.Second)
	r.mu.Unlock()
	if st := svc.Status()[0]; st.State != StateStale {
		t.Fatalf("state = %s, want stale", st.State)
	}
}

// A git server that accepts connections and never answers makes the
// repository fail (after its git timeout) and retried; the others are
// indexed and matched meanwhile.
func TestNoTimeoutsOnGit(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	keys := testgit.NewSSHServer(t, t.TempDir()) // for a client key and a known_hosts file
	hung := "http://" + testenv.SilentAddr(t)
	h := startService(t, Config{Repos: []Repo{
		{Name: "a", URL: a.URL, Branch: "main"},
		{Name: "hung", URL: hung + "/hung.git", Branch: "main", GitTimeout: 300 * time.Millisecond},
		{Name: "hung-ssh", URL: "ssh://git@" + strings.TrimPrefix(hung, "http://") + "/hung.git", Branch: "main",
			GitTimeout: 300 * time.Millisecond, Auth: Auth{SSHKeyFile: keys.ClientKeyFile, KnownHostsFile: keys.KnownHostsFile}},
	}})
	testenv.Eventually(t, "pushes consumed", h.svc.Consuming)
	for _, name := range []string{"hung", "hung-ssh"} {
		testenv.Eventually(t, name+" failed", func() bool { return state(t, h.svc, name).State == StateFailing })
		if st := state(t, h.svc, name); !strings.Contains(st.LastError, "git timeout") {
			t.Fatalf("%s: %+v", name, st)
		}
	}
	if st := state(t, h.svc, "a"); st.State != StateReady {
		t.Fatalf("a: %+v", st)
	}
	now := time.Now()
	h.push(t, bus.PushEvent{ID: "ev", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	h.rewrites(t, "a", "main", 1)
}
