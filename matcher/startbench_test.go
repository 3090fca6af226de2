package matcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/gitopsgen"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// bigRepo serves gitopsgen's repository of n files (seed 1) over HTTP as
// branch main of "gitops", with the commits more adds on top (nil: none),
// packed.
func bigRepo(t *testing.T, n int, more func(*testgit.Repo)) (*testgit.Repo, gitopsgen.Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := gitopsgen.Generate(dir, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	repo := testgit.NewServer(t).NewRepo(t, "gitops")
	repo.SeedDir(t, "main", dir)
	if more != nil {
		more(repo)
	}
	testgit.Git(t, repo.Dir, "gc", "--quiet") // a server keeps its objects packed
	return repo, st
}

// timeToReady runs a matcher of branch main of the repository at url
// from New until it is ready, stops it and returns the time it took, the
// service (its index) and its log.
func timeToReady(t *testing.T, js jetstream.JetStream, url string) (time.Duration, *Service, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	t0 := time.Now()
	svc, err := New(Config{Repos: []Repo{{Name: "gitops", URL: url, Branch: "main"}}}, js, prometheus.NewRegistry(), zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	for !svc.Ready() {
		time.Sleep(5 * time.Millisecond) // a measurement's resolution, not a synchronisation
	}
	d := time.Since(t0)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return d, svc, logs
}

// TestBenchReportStartup measures a matcher's start on the generated
// 10,000-file repository, from New to ready (cloned over HTTP, every file
// parsed, consuming pushes), against `git clone --depth 1` of the same
// repository from the same server in the same run, and writes the
// "matcher-startup" section of BENCHMARKS.md. It runs only when
// HOIST_BENCH_REPORT names that file.
func TestBenchReportStartup(t *testing.T) {
	out := testenv.BenchReport(t)
	const files, runs = 10000, 3
	repo, st := bigRepo(t, files, nil)
	nats := bustest.Start(t)

	// Alternate the two, best of each: the machine is shared.
	var clone, bare, start, fetch time.Duration
	for i := range runs {
		into := filepath.Join(t.TempDir(), "clone")
		t0 := time.Now()
		testgit.Git(t, "", "clone", "--quiet", "--depth", "1", "--branch", "main", repo.URL, into)
		if d := time.Since(t0); i == 0 || d < clone {
			clone = d
		}
		os.RemoveAll(into)
		t0 = time.Now()
		testgit.Git(t, "", "clone", "--quiet", "--depth", "1", "--no-checkout", "--branch", "main", repo.URL, into)
		if d := time.Since(t0); i == 0 || d < bare {
			bare = d
		}
		os.RemoveAll(into)

		d, svc, logs := timeToReady(t, nats.JS, repo.URL)
		if got := svc.Index("gitops").Len(); got != st.Sites {
			t.Fatalf("index has %d sites, generator wrote %d", got, st.Sites)
		}
		if i == 0 || d < start {
			start = d
			f := logs.Lines(t, "repository fetched; indexing its manifests")
			if len(f) != 1 {
				t.Fatalf("fetched lines: %v", f)
			}
			fetch = time.Duration(f[0]["duration_ms"].(float64)) * time.Millisecond
		}
	}
	ratio := start.Seconds() / clone.Seconds()
	mark := "met"
	if ratio > 2 {
		mark = "**missed**"
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	var b strings.Builder
	fmt.Fprintf(&b, "## matcher: start-up on a big repository\n\nMachine: %s; load average %s when measured (shared with other work: wall times).\n", benchmd.Machine(), loadAverage())
	fmt.Fprintf(&b, "Repository: `gitopsgen.Generate(dir, %d, 1)` — %d files, %d image sites, %.1f MB, one commit, packed, served by `git http-backend` on 127.0.0.1.\n",
		files, st.Files, st.Sites, float64(st.Bytes)/(1<<20))
	fmt.Fprintf(&b, "Best of %d runs each, alternated, all cores.\n\n", runs)
	b.WriteString("| measurement | wall time | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| `git clone --depth 1` (fetch, unpack, check out %d files) | %s | |\n", st.Files, ms(clone))
	fmt.Fprintf(&b, "| matcher from New to ready: shallow clone in memory, every file parsed, consuming pushes | %s | ≤ 2 × git clone: %.2f × — %s |\n", ms(start), ratio, mark)
	fmt.Fprintf(&b, "| `git clone --depth 1 --no-checkout` (fetch and store the pack only, as the matcher does in memory) | %s | matcher / this: %.2f × |\n", ms(bare), start.Seconds()/bare.Seconds())
	fmt.Fprintf(&b, "| of which the in-memory shallow clone (go-git) | %s | |\n", ms(fetch))
	fmt.Fprintf(&b, "| of which reading and parsing the files (in parallel) | %s | |\n", ms(start-fetch))
	b.WriteString("\nThe matcher never writes a working tree: on a shared, loaded machine the checkout of 10,000 files is\n" +
		"most of `git clone`'s time, so the clone without checkout is the closer comparison.\n" +
		"A full index logs `indexing repository` (files read, sites found) every 5,000 files or 5 s.\n")
	if err := benchmd.Update(out, "matcher-startup", b.String()); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
}
