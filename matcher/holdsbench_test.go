package matcher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// benchHistory appends commits to branch main of r with git fast-import:
// the first adds apps files hoist-bench/app-K.yaml (a person's commit),
// each later one sets one file's tag, by hoist (Hoist-Event-Ids trailer)
// except every tenth, a person's rollback to 1.0.0.
func benchHistory(t *testing.T, r *testgit.Repo, commits, apps int) {
	t.Helper()
	release := func(k int, tag string) string {
		return strings.NewReplacer("name: app\n", fmt.Sprintf("name: app-%d\n", k), "namespace: apps", "namespace: bench",
			"registry.example/team/app", fmt.Sprintf("registry.example/bench/app-%d", k), "tag: 1.0.0", "tag: "+tag).Replace(gateRelease(""))
	}
	var b bytes.Buffer
	data := func(s string) { fmt.Fprintf(&b, "data %d\n%s\n", len(s), s) }
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := range commits {
		fmt.Fprintf(&b, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\n", at+int64(i))
		switch {
		case i == 0:
			data("Add the bench apps")
			fmt.Fprintf(&b, "from %s\n", r.Head(t, "main"))
			for k := range apps {
				fmt.Fprintf(&b, "M 100644 inline hoist-bench/app-%d.yaml\n", k)
				data(release(k, "1.0.0"))
			}
			continue
		case i%10 == 0:
			data("Roll back")
			fmt.Fprintf(&b, "M 100644 inline hoist-bench/app-%d.yaml\n", (i-1)%apps)
			data(release((i-1)%apps, "1.0.0"))
		default:
			data(fmt.Sprintf("Update app-%d to 1.%d.0\n\nHoist-Event-Ids: ev-%d", i%apps, i, i))
			fmt.Fprintf(&b, "M 100644 inline hoist-bench/app-%d.yaml\n", i%apps)
			data(release(i%apps, fmt.Sprintf("1.%d.0", i)))
		}
	}
	cmd := testgit.Command(r.Dir, "fast-import", "--quiet")
	cmd.Stdin = &b
	if out, err := testgit.RunCmd(cmd); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
}

// TestBenchReportHoldsRebuild measures what rebuilding the holds from git
// history adds to a matcher's start on the generated 10,000-file repository
// with HistoryDepth commits of history on top: a start with an empty holds
// bucket (the rebuild reads the history) against one whose bucket has the
// branch's records. It writes the "matcher-holds-rebuild" section of
// BENCHMARKS.md, and runs only when HOIST_BENCH_REPORT names that file.
func TestBenchReportHoldsRebuild(t *testing.T) {
	out := os.Getenv("HOIST_BENCH_REPORT")
	if out == "" {
		t.Skip("set HOIST_BENCH_REPORT to the path of BENCHMARKS.md")
	}
	const files, apps, runs = 10000, 50, 3
	repo, st := bigRepo(t, files, func(r *testgit.Repo) { benchHistory(t, r, HistoryDepth, apps) })
	nats := bustest.Start(t)

	start := func() (time.Duration, map[string]any) {
		d, _, logs := timeToReady(t, nats.JS, repo.URL)
		if l := logs.Lines(t, "holds rebuilt from git history"); len(l) == 1 {
			return d, l[0]
		}
		return d, nil
	}
	var empty, marked time.Duration
	var line map[string]any
	for i := range runs {
		if err := nats.JS.DeleteKeyValue(context.Background(), bus.HoldsBucket); err != nil && i > 0 {
			t.Fatal(err)
		}
		testenv.Eventually(t, "the bucket re-created empty", func() bool { return nats.Conn.Ready(context.Background()) == nil })
		d, l := start()
		if l == nil {
			t.Fatal("a start with an empty holds bucket did not rebuild them")
		}
		if i == 0 || d < empty {
			empty, line = d, l
		}
		d, l = start()
		if l != nil {
			t.Fatal("a start whose bucket has the records rebuilt them again")
		}
		if i == 0 || d < marked {
			marked = d
		}
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	var b strings.Builder
	fmt.Fprintf(&b, "## matcher: rebuilding the holds from git history\n\nMachine: %s; load average %s when measured (shared with other work: wall times).\n", benchmd.Machine(), loadAverage())
	fmt.Fprintf(&b, "Repository: `gitopsgen.Generate(dir, %d, 1)` (%d files, %d image sites) and %d commits on top, each setting one of %d HelmReleases' tag:\n"+
		"hoist's (`Hoist-Event-Ids` trailer) but every tenth, a person's rollback; packed, served by `git http-backend` on 127.0.0.1.\n",
		files, st.Files, st.Sites, HistoryDepth, apps)
	fmt.Fprintf(&b, "Best of %d runs each, alternated.\n\n", runs)
	b.WriteString("| measurement | wall time |\n|---|---|\n")
	fmt.Fprintf(&b, "| matcher from New to ready, the holds bucket has the branch's records (one KV read) | %s |\n", ms(marked))
	fmt.Fprintf(&b, "| matcher from New to ready, empty holds bucket: the rebuild reads %v commits back | %s |\n", line["commits"], ms(empty))
	fmt.Fprintf(&b, "| of which the rebuild (deepening fetch, walk, records stored) | %.0f ms |\n", line["duration_ms"])
	fmt.Fprintf(&b, "\nThe rebuild found %v sites hoist wrote and stored %v records, %v of them holds.\n"+
		"Pushes for the repository wait for it; it runs once per branch and bucket (a history mark in the bucket says it ran).\n",
		line["sites_written"], line["records"], line["holds"])
	if err := benchmd.Update(out, "matcher-holds-rebuild", b.String()); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
}
