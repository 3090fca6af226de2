package committer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// benchPath lays n files out as a GitOps repository might: folders of 100
// manifests under apps/.
func benchPath(i int) string { return fmt.Sprintf("apps/d%03d/app%06d.yaml", i/100, i) }

func benchName(i int) string { return fmt.Sprintf("app%06d", i) }

// benchRepo makes a repository of n automated Deployments on a git HTTP
// server, with git fast-import.
func benchRepo(t testing.TB, srv *testgit.Server, name string, n int) *testgit.Repo {
	t.Helper()
	r := srv.NewRepo(t, name)
	r.Import(t, "main", func(add func(string, []byte)) {
		add("README.md", []byte("GitOps\n"))
		for i := range n {
			add(benchPath(i), []byte(deployment(benchName(i), "registry.example/"+benchName(i)+":1.0.0")))
		}
	})
	return r
}

func benchRewrite(i int, tag, id string) bus.Rewrite {
	return rewrite("gitops", "main", benchPath(i), benchName(i), "1.0.0", tag, id)
}

// hoistRun times hoist committing batches to a fresh repository of n files:
// the clone is made first (not timed), then each batch is one timed commit.
type hoistRun struct {
	w *writer
	// builds are the Build timings of the commits: hoist's own work.
	builds []time.Duration
}

func newHoistRun(t testing.TB, r *testgit.Repo) (*hoistRun, time.Duration) {
	t.Helper()
	w := newTestWriter(t, Repo{URL: r.URL})
	start := time.Now()
	c, err := w.clone.fetch(context.Background(), w.rem, []string{"main"}, 1)
	if err != nil || c["main"].IsZero() {
		t.Fatalf("clone: %v", err)
	}
	return &hoistRun{w: w}, time.Since(start)
}

func (h *hoistRun) commit(t testing.TB, rws []bus.Rewrite) time.Duration {
	t.Helper()
	start := time.Now()
	res, err := h.w.commit(context.Background(), rws, nil)
	d := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != len(rws) || res.Attempts != 1 {
		t.Fatalf("applied %d of %d in %d attempts", len(res.Applied), len(rws), res.Attempts)
	}
	h.builds = append(h.builds, res.Timings.Build)
	return d
}

// gitRun times the git CLI doing the same in a checkout: write the files,
// `git commit -am`, `git push`.
type gitRun struct {
	dir string
	// pushes are the times of `git push` alone: the server's share.
	pushes []time.Duration
}

func newGitRun(t testing.TB, r *testgit.Repo) *gitRun {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	testgit.Git(t, "", "clone", "--quiet", "--branch", "main", r.Dir, dir) // local: quick
	testgit.Git(t, dir, "remote", "set-url", "origin", r.CloneURL)
	testgit.Git(t, dir, "config", "gc.auto", "0")
	testgit.Git(t, dir, "fetch", "--quiet", "origin")
	testgit.Git(t, dir, "branch", "--quiet", "--set-upstream-to=origin/main")
	return &gitRun{dir: dir}
}

func (g *gitRun) commit(t testing.TB, rws []bus.Rewrite) time.Duration {
	t.Helper()
	start := time.Now()
	for _, rw := range rws {
		if err := os.WriteFile(filepath.Join(g.dir, filepath.FromSlash(rw.File)), []byte(deployment(strings.TrimPrefix(rw.Resource, "apps:deployment/"), rw.New)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testgit.Git(t, g.dir, "commit", "--quiet", "-am", "Update images")
	pushStart := time.Now()
	testgit.Git(t, g.dir, "push", "--quiet", "origin", "main")
	g.pushes = append(g.pushes, time.Since(pushStart))
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// TestBenchReportCommitter measures one rewrite committed and pushed to a
// local git http-backend on repositories of 1,000, 10,000 and 100,000
// files, side by side with the git CLI doing the same change in a checkout,
// and one commit of 1,000 rewrites; it writes the "committer" section of
// BENCHMARKS.md.
func TestBenchReportCommitter(t *testing.T) {
	path := testenv.BenchReport(t)
	const rounds = 9
	srv := testgit.NewServer(t)
	type row struct {
		files          int
		clone          time.Duration
		hoist, gitCLI  time.Duration
		build, gitPush time.Duration
		hoistN, gitCLN time.Duration
		buildN         time.Duration
		// prepN, prepBuildN: 1,000 rewrites whose edits were prepared
		// while held (as runBranch does during the window).
		prepN, prepBuildN time.Duration
	}
	type setup struct {
		n      int
		hr     *testgit.Repo
		h      *hoistRun
		g      *gitRun
		clone  time.Duration
		hs, gs []time.Duration
	}
	var sets []*setup
	for _, n := range []int{1000, 10000, 100000} {
		s := &setup{n: n, hr: benchRepo(t, srv, fmt.Sprintf("hoist%d", n), n)}
		s.h, s.clone = newHoistRun(t, s.hr)
		s.g = newGitRun(t, benchRepo(t, srv, fmt.Sprintf("cli%d", n), n))
		sets = append(sets, s)
	}
	// Rounds interleave the sizes and alternate which tool goes first, so a
	// busy moment of the machine does not land on one size or one tool.
	for k := range rounds {
		for j := range sets {
			s := sets[(j+k)%len(sets)]
			i := (k*7919 + 13) % s.n
			rw := []bus.Rewrite{benchRewrite(i, "1.1.0", fmt.Sprintf("ev-%d", k))}
			if k%2 == 0 {
				s.hs = append(s.hs, s.h.commit(t, rw))
				s.gs = append(s.gs, s.g.commit(t, rw))
			} else {
				s.gs = append(s.gs, s.g.commit(t, rw))
				s.hs = append(s.hs, s.h.commit(t, rw))
			}
		}
	}
	var rows []row
	for _, s := range sets {
		ro := row{files: s.n, clone: s.clone, hoist: median(s.hs), gitCLI: median(s.gs), build: median(s.h.builds), gitPush: median(s.g.pushes)}
		if s.n == 10000 {
			var batch []bus.Rewrite
			for j := range 1000 {
				i := (j*7 + 1) % s.n
				batch = append(batch, benchRewrite(i, "1.2.0", fmt.Sprintf("batch-%d", j)))
			}
			ro.hoistN = s.h.commit(t, batch)
			ro.buildN = s.h.builds[len(s.h.builds)-1]
			ro.gitCLN = s.g.commit(t, batch)
			if got := len(testgit.Lines(testgit.Git(t, s.hr.Dir, "diff", "--name-only", "main^", "main"))); got != 1000 {
				t.Fatalf("the 1,000-rewrite commit changed %d files", got)
			}
			batch = batch[:0]
			for j := range 1000 {
				i := (j*7 + 1) % s.n
				batch = append(batch, rewrite("gitops", "main", benchPath(i), benchName(i), "1.2.0", "1.3.0", fmt.Sprintf("prep-%d", j)))
				s.h.w.prepare(batch[j])
			}
			ro.prepN = s.h.commit(t, batch)
			ro.prepBuildN = s.h.builds[len(s.h.builds)-1]
			s.h.w.dropMemo()
			if got := len(testgit.Lines(testgit.Git(t, s.hr.Dir, "diff", "--name-only", "main^", "main"))); got != 1000 {
				t.Fatalf("the prepared 1,000-rewrite commit changed %d files", got)
			}
		}
		s.hr.Fsck(t)
		rows = append(rows, ro)
		t.Logf("%d files: hoist %s, git CLI %s (clone %s)", s.n, ms(ro.hoist), ms(ro.gitCLI), ms(s.clone))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## committer\n\n%s\n\n", benchmd.Machine())
	fmt.Fprintf(&b, "One rewrite → commit → push to `git http-backend` (CGI) on 127.0.0.1, median of %d rounds; "+
		"the git CLI makes the same change in a checkout with `git commit -am` + `git push`. "+
		"Files are Deployments in folders of 100 (`apps/dNNN/appNNNNNN.yaml`), made with `git fast-import`.\n\n", rounds)
	b.WriteString("| files | hoist | of which hoist's own work (re-check, edit, objects) | git CLI | of which `git push` | hoist ÷ git CLI | hoist's first clone (not in the figures) |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %.2f× | %s |\n", r.files, ms(r.hoist), ms(r.build), ms(r.gitCLI), ms(r.gitPush), float64(r.hoist)/float64(r.gitCLI), ms(r.clone))
	}
	b.WriteString("\nThe rest of hoist's time is two HTTP requests (list refs, push) and the server's own work: " +
		"`git receive-pack` checks the new objects' connectivity by walking the parent commit's whole tree, which grows " +
		"with the repository for hoist and the git CLI alike (see the `git push` column).\n")
	first, last := rows[0], rows[len(rows)-1]
	flat := float64(last.hoist) / float64(first.hoist)
	fmt.Fprintf(&b, "\n* Flat in repository size: hoist at %d files ÷ at %d files = **%.2f×** (target ≤ 2×).\n", last.files, first.files, flat)
	fmt.Fprintf(&b, "* At %d files hoist takes **%.2f×** the git CLI's time (target < 1×).\n", last.files, float64(last.hoist)/float64(last.gitCLI))
	for _, r := range rows {
		if r.hoistN > 0 {
			fmt.Fprintf(&b, "* 1,000 rewrites in one commit (%d-file repository, 1,000 files changed): hoist **%s** (target < 1 s; hoist's own work %s), git CLI %s.\n", r.files, ms(r.hoistN), ms(r.buildN), ms(r.gitCLN))
			fmt.Fprintf(&b, "* The same with the edits prepared while the batch was held (as `hoist serve` does during `commit.window`): "+
				"hoist **%s** after the window closes (own work %s, i.e. %.2f of the unprepared).\n", ms(r.prepN), ms(r.prepBuildN), float64(r.prepBuildN)/float64(r.buildN))
		}
	}
	if err := benchmd.Update(path, "committer", b.String()); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// BenchmarkCommitOneRewrite is one rewrite committed and pushed to a local
// git HTTP server, by repository size.
func BenchmarkCommitOneRewrite(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			srv := testgit.NewServer(b)
			h, _ := newHoistRun(b, benchRepo(b, srv, "gitops", n))
			tags := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tags++
				rw := rewrite("gitops", "main", benchPath(i%n), benchName(i%n), "1.0.0", fmt.Sprintf("1.0.%d", tags), "ev")
				if _, err := h.w.commit(context.Background(), []bus.Rewrite{rw}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommit1000Rewrites is one commit of 1,000 rewrites (1,000 files
// of a 10,000-file repository) pushed to a local git HTTP server.
func BenchmarkCommit1000Rewrites(b *testing.B) {
	srv := testgit.NewServer(b)
	h, _ := newHoistRun(b, benchRepo(b, srv, "gitops", 10000))
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		var batch []bus.Rewrite
		for j := range 1000 {
			i := (j*7 + k*1000) % 10000
			batch = append(batch, rewrite("gitops", "main", benchPath(i), benchName(i), "1.0.0", fmt.Sprintf("1.%d.0", k+1), "ev"))
		}
		if _, err := h.w.commit(context.Background(), batch, nil); err != nil {
			b.Fatal(err)
		}
	}
}
