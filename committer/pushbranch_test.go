package committer

import (
	"context"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

func TestPushBranch(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seed := seedApps(t, r, 4)
	w := newTestWriter(t, Repo{URL: r.URL, PushBranch: "hoist/updates"})
	ctx := context.Background()
	commit := func(rws ...bus.Rewrite) Result {
		t.Helper()
		res, err := w.commit(ctx, rws, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	parent := func(rev string) string {
		return strings.TrimSpace(testgit.Git(t, r.Dir, "rev-parse", rev+"^"))
	}

	// Created from the tracked branch; the tracked branch is not touched.
	first := commit(appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"))
	if first.Branch != "hoist/updates" || r.Head(t, "hoist/updates") != first.Commit.String() || parent("hoist/updates") != seed {
		t.Fatalf("push branch %s (parent %s), result %+v, want a commit on the seed", r.Head(t, "hoist/updates"), parent("hoist/updates"), first)
	}
	if r.Head(t, "main") != seed {
		t.Fatal("the tracked branch moved")
	}

	// Unmerged: the next batch adds to the push branch, and the re-check
	// reads the push branch (the first rewrite again is a no-op).
	second := commit(appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1"), appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0"))
	if parent(second.Commit.String()) != first.Commit.String() || len(second.Applied) != 1 || len(second.Dropped) != 1 {
		t.Fatalf("second batch %+v, want one change on top of the first", second)
	}

	// Merged (fast-forward) and the tracked branch moved on: the push branch
	// follows it, so the next change is made on the tracked head.
	person := r.Clone(t, "main")
	testgit.Git(t, person, "pull", "--quiet", "--ff-only", "origin", "hoist/updates")
	testgit.Git(t, person, "commit", "--quiet", "--allow-empty", "-m", "After the merge")
	testgit.Git(t, person, "push", "--quiet", "origin", "main")
	mainHead := r.Head(t, "main")
	third := commit(appRewrite("gitops", 2, "1.0.0", "1.1.0", "ev-2"))
	if parent(third.Commit.String()) != mainHead {
		t.Fatalf("after the merge the push branch is built on %s, want the tracked head %s", parent(third.Commit.String()), mainHead)
	}

	// Merged with a merge commit works the same way.
	testgit.Git(t, person, "fetch", "--quiet", "origin")
	testgit.Git(t, person, "merge", "--quiet", "--no-ff", "-m", "Merge hoist/updates", "origin/hoist/updates")
	testgit.Git(t, person, "push", "--quiet", "origin", "main")
	mainHead = r.Head(t, "main")
	fourth := commit(appRewrite("gitops", 3, "1.0.0", "1.1.0", "ev-3"))
	if parent(fourth.Commit.String()) != mainHead {
		t.Fatalf("after a merge commit the push branch is built on %s, want %s", parent(fourth.Commit.String()), mainHead)
	}
	if r.Head(t, "main") != mainHead {
		t.Fatal("hoist pushed to the tracked branch")
	}
	if got := r.Log(t, "hoist/updates"); len(got.Merges) != 1 { // only the person's merge
		t.Fatalf("merges on the push branch: %v", got.Merges)
	}
	r.Fsck(t)
	r.ReflogFastForwardOnly(t, "hoist/updates")
}
