package committer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// newTestWriterIn is newTestWriter with its clones in dataDir, so a test
// can start a writer again on the clones an earlier one left.
func newTestWriterIn(t testing.TB, repo Repo, dataDir string) *writer {
	t.Helper()
	if repo.Branch == "" {
		repo.Branch = "main"
	}
	if repo.Name == "" {
		repo.Name = "gitops"
	}
	w, err := newWriter(repo, Config{DataDir: dataDir, Editor: testEditor(), Retry: Retry{Base: time.Millisecond, Max: 20 * time.Millisecond}}, newMetrics(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.clone.close)
	return w
}

// landUpdates commits n updates of app0 (1.0.<k> for k = 1..n) one batch
// each and checks every one reached the remote.
func landUpdates(t *testing.T, w *writer, r *testgit.Repo, from, n int) {
	t.Helper()
	for k := from; k < from+n; k++ {
		tag := "1.0." + itoa(k)
		res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0."+itoa(k-1), tag, "ev-"+tag)}, nil)
		if err != nil {
			t.Fatalf("update to %s: %v", tag, err)
		}
		if got := r.Head(t, "main"); got != res.Commit.String() {
			t.Fatalf("update to %s: remote head %s, pushed %s", tag, got, res.Commit)
		}
		if !strings.Contains(r.Show(t, "main", appFile(0)), "app0:"+tag) {
			t.Fatalf("update to %s not in the remote's file", tag)
		}
	}
	r.Fsck(t)
}

// TestStaleCloneAfterRemoteRecreated re-creates the remote repository under
// the same URL (same content, new history): the objects hoist's clone holds
// from the old history are not on the new remote, and a clone that leaves
// them out of its pushes is rebuilt, so the updates land.
func TestStaleCloneAfterRemoteRecreated(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	data := t.TempDir()
	w := newTestWriterIn(t, Repo{URL: r.URL}, data)
	landUpdates(t, w, r, 1, 3)

	// The repository is deleted and created again from the same files.
	if err := os.RemoveAll(r.Dir); err != nil {
		t.Fatal(err)
	}
	r = srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	landUpdates(t, w, r, 1, 3)

	// And again, with a committer started anew on the clones left behind.
	if err := os.RemoveAll(r.Dir); err != nil {
		t.Fatal(err)
	}
	r = srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	w.clone.close()
	landUpdates(t, newTestWriterIn(t, Repo{URL: r.URL}, data), r, 1, 3)
}

// TestStaleCloneAfterForcePushAndGC has someone force-push the branch back
// and the server prune the objects nobody references any more: hoist's clone
// still holds them, and the updates must land all the same.
func TestStaleCloneAfterForcePushAndGC(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seed := seedApps(t, r, 2)
	w := newTestWriterIn(t, Repo{URL: r.URL}, t.TempDir())
	landUpdates(t, w, r, 1, 3)

	person := r.Clone(t, "main")
	testgit.Git(t, person, "reset", "--quiet", "--hard", seed)
	testgit.Git(t, r.Dir, "config", "receive.denyNonFastForwards", "false")
	testgit.Git(t, person, "push", "--quiet", "--force", "origin", "main")
	testgit.Git(t, r.Dir, "reflog", "expire", "--expire=now", "--all")
	testgit.Git(t, r.Dir, "gc", "--quiet", "--prune=now")

	landUpdates(t, w, r, 1, 3)
}

// TestCloneDirectoryIsKeyedByURL points the same repository name at
// another URL: the committer uses another clone, so nothing of the first
// remote's history leaks into the second's pushes.
func TestCloneDirectoryIsKeyedByURL(t *testing.T) {
	srv := testgit.NewServer(t)
	first := srv.NewRepo(t, "first")
	second := srv.NewRepo(t, "second")
	seedApps(t, first, 2)
	data := t.TempDir()
	// A clone of the earlier layout (keyed by name and branch only) is removed.
	legacy := filepath.Join(data, "hoist-committer-gitops_main")
	if err := os.MkdirAll(filepath.Join(legacy, "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newTestWriterIn(t, Repo{URL: first.URL}, data)
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Fatalf("the clone folder of the earlier layout is still there: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(w.clone.dir), "hoist-committer-gitops_main-") {
		t.Fatalf("clone folder %s does not name the repository and branch", w.clone.dir)
	}
	landUpdates(t, w, first, 1, 2)
	w.clone.close()

	seedApps(t, second, 2)
	w2 := newTestWriterIn(t, Repo{URL: second.URL}, data)
	if w2.clone.dir == w.clone.dir {
		t.Fatalf("both URLs use the clone %s", w.clone.dir)
	}
	res, err := w2.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.0.1", "ev-1")}, nil)
	if err != nil || res.Attempts != 1 {
		t.Fatalf("first push to the new URL: %v after %d attempts", err, res.Attempts)
	}
	if got := second.Head(t, "main"); got != res.Commit.String() {
		t.Fatalf("remote head %s, pushed %s", got, res.Commit)
	}
	second.Fsck(t)
}

// TestStaleCloneFetchErrorRebuilds damages the clone so that a fetch
// cannot store what the remote sends (its pack folder is a file): the
// fetch error is the clone's, not the remote's, so the clone is rebuilt
// and the batch lands on the next attempt.
func TestStaleCloneFetchErrorRebuilds(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	w := newTestWriterIn(t, Repo{URL: r.URL}, t.TempDir())
	landUpdates(t, w, r, 1, 1)

	person := r.Clone(t, "main") // the branch moves on: the next batch must fetch
	testgit.Git(t, person, "commit", "--quiet", "--allow-empty", "-m", "A person's commit")
	testgit.Git(t, person, "push", "--quiet", "origin", "main")
	w.clone.close()
	pack := filepath.Join(w.clone.dir, "objects", "pack")
	if err := os.RemoveAll(pack); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, []byte("not a folder\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || r.Head(t, "main") != res.Commit.String() {
		t.Fatalf("landed %s in %d attempts (want 2: the failed fetch, then a rebuilt clone); remote head %s", res.Commit, res.Attempts, r.Head(t, "main"))
	}
	r.Fsck(t)
}

func TestCloneDirNameIgnoresCredentials(t *testing.T) {
	base := Repo{Name: "gitops", URL: "https://git.example/team/gitops.git", Branch: "main"}
	dir := cloneDirName(base)
	same := base
	same.URL = "https://hoist:s3cret@git.example/team/gitops.git"
	if got := cloneDirName(same); got != dir {
		t.Errorf("credentials in the URL change the clone folder: %s vs %s", got, dir)
	}
	if strings.Contains(cloneDirName(same), "s3cret") {
		t.Error("the clone folder names the password")
	}
	for _, edit := range []func(*Repo){
		func(r *Repo) { r.URL = "https://git.example/team/other.git" },
		func(r *Repo) { r.URL = "ssh://git@git.example/team/gitops.git" },
		func(r *Repo) { r.Branch = "release" },
		func(r *Repo) { r.PushBranch = "hoist/updates" },
	} {
		r := base
		edit(&r)
		if cloneDirName(r) == dir {
			t.Errorf("%+v shares the clone folder of %+v", r, base)
		}
	}
}
