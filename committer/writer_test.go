package committer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// seedApps seeds branch main of r with n automated Deployments at tag 1.0.0
// in apps/appN.yaml.
func seedApps(t testing.TB, r *testgit.Repo, n int) string {
	t.Helper()
	files := map[string]string{"README.md": "GitOps\n"}
	for i := range n {
		files[appFile(i)] = deployment(appName(i), "registry.example/"+appName(i)+":1.0.0")
	}
	return r.SeedFiles(t, "main", files)
}

func appName(i int) string { return "app" + itoa(i) }
func appFile(i int) string { return "apps/" + appName(i) + ".yaml" }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// appRewrite moves app i from tag old to new.
func appRewrite(repo string, i int, old, new, eventID string) bus.Rewrite {
	return rewrite(repo, "main", appFile(i), appName(i), old, new, eventID)
}

func newTestWriter(t testing.TB, repo Repo) *writer {
	t.Helper()
	if repo.Branch == "" {
		repo.Branch = "main"
	}
	if repo.Name == "" {
		repo.Name = "gitops"
	}
	w, err := newWriter(repo, Config{DataDir: t.TempDir(), Editor: testEditor(), Retry: Retry{Base: time.Millisecond, Max: 20 * time.Millisecond}}, newMetrics(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWriterTransports(t *testing.T) {
	httpOpen := testgit.NewServer(t)
	httpAuth := testgit.NewServer(t, testgit.WithBasicAuth("hoist", "t0ken"))
	sshd := testgit.NewSSHServer(t, httpOpen.Root)
	for _, tc := range []struct {
		name string
		repo func(t *testing.T) (*testgit.Repo, Repo)
	}{
		{"http", func(t *testing.T) (*testgit.Repo, Repo) {
			r := httpOpen.NewRepo(t, "open")
			return r, Repo{URL: r.URL}
		}},
		{"http-basic-auth", func(t *testing.T) (*testgit.Repo, Repo) {
			r := httpAuth.NewRepo(t, "private")
			return r, Repo{URL: r.URL, Auth: Auth{Username: "hoist", Password: "t0ken"}}
		}},
		{"file-url", func(t *testing.T) (*testgit.Repo, Repo) {
			r := testgit.NewLocalRepo(t)
			return r, Repo{URL: "file://" + r.Dir}
		}},
		{"local-path", func(t *testing.T) (*testgit.Repo, Repo) {
			r := testgit.NewLocalRepo(t)
			return r, Repo{URL: r.Dir}
		}},
		{"ssh", func(t *testing.T) (*testgit.Repo, Repo) {
			r := httpOpen.NewRepo(t, "viassh")
			return r, Repo{URL: sshd.URL("viassh"), Auth: Auth{SSHKeyFile: sshd.ClientKeyFile, KnownHostsFile: sshd.KnownHostsFile}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cfg := tc.repo(t)
			seed := seedApps(t, r, 3)
			w := newTestWriter(t, cfg)
			ctx := context.Background()
			res, err := w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Head(t, "main"); got != res.Commit.String() || res.Attempts != 1 {
				t.Fatalf("remote head %s, pushed %s in %d attempts", got, res.Commit, res.Attempts)
			}
			// A second batch builds on the clone's copy of the first commit.
			res2, err := w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 2, "1.0.0", "1.2.0", "ev-2")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := r.Log(t, "main")
			if len(h.Commits) != 3 || h.Commits[0] != res2.Commit.String() || h.Commits[1] != res.Commit.String() || h.Commits[2] != seed {
				t.Fatalf("history %v, want seed, first, second", h.Commits)
			}
			if !strings.Contains(r.Show(t, "main", appFile(1)), "app1:1.1.0") || !strings.Contains(r.Show(t, "main", appFile(2)), "app2:1.2.0") {
				t.Fatal("files not updated on the remote")
			}
			r.Fsck(t)
			r.ReflogFastForwardOnly(t, "main")
		})
	}
}

func TestWriterRefusesBadCredentialsAndUnknownHosts(t *testing.T) {
	srv := testgit.NewServer(t, testgit.WithBasicAuth("hoist", "t0ken"))
	r := srv.NewRepo(t, "private")
	seedApps(t, r, 1)
	rw := []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}

	w := newTestWriter(t, Repo{URL: r.URL, Auth: Auth{Username: "hoist", Password: "wrong"}})
	if _, err := w.commit(context.Background(), rw, nil); err == nil || !isAuthError(err) {
		t.Fatalf("wrong password: %v, want an authentication error", err)
	}

	sshd := testgit.NewSSHServer(t, srv.Root)
	other := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(other, []byte("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w = newTestWriter(t, Repo{URL: sshd.URL("private"), Auth: Auth{SSHKeyFile: sshd.ClientKeyFile, KnownHostsFile: other}})
	w.retry.Attempts = 2
	_, err := w.commit(context.Background(), rw, nil)
	if err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("unknown host key: %v, want a host key error", err)
	}
	if got := len(r.Log(t, "main").Commits); got != 1 {
		t.Fatalf("%d commits on the remote, want only the seed", got)
	}
}

func TestWriterReappliesTheBatchWhenAPersonPushedFirst(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 3)
	w := newTestWriter(t, Repo{URL: r.URL})
	person := r.Clone(t, "main")
	pushed := 0
	w.failpoint = func(point string) {
		if point != "after-commit" || pushed > 0 {
			return
		}
		pushed++ // between hoist's commit and its push, a person pushes
		if err := os.WriteFile(filepath.Join(person, "NOTES.md"), []byte("person\n"), 0o644); err != nil {
			t.Error(err)
		}
		testgit.Git(t, person, "add", "NOTES.md")
		testgit.Git(t, person, "commit", "--quiet", "-m", "A person's change")
		testgit.Git(t, person, "push", "--quiet", "origin", "main")
	}
	res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 {
		t.Fatalf("landed in %d attempts, want 2 (one rejected)", res.Attempts)
	}
	h := r.Log(t, "main")
	if h.Subjects[h.Commits[0]] != "Update images" || h.Subjects[h.Commits[1]] != "A person's change" || len(h.Merges) != 0 {
		t.Fatalf("history %v, want hoist's commit on top of the person's", h.Subjects)
	}
	if r.Show(t, "main", "NOTES.md") != "person\n" {
		t.Fatal("the person's file is lost")
	}
	r.Fsck(t)
	r.ReflogFastForwardOnly(t, "main")
}

func TestWriterAPersonsCommitWins(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 2)
	w := newTestWriter(t, Repo{URL: r.URL})
	// The person moves app0 to 2.0.0 before hoist's batch for 1.1.0 lands.
	person := r.Clone(t, "main")
	if err := os.WriteFile(filepath.Join(person, appFile(0)), []byte(deployment("app0", "registry.example/app0:2.0.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, person, "commit", "--quiet", "-am", "Pin app0 to 2.0.0")
	testgit.Git(t, person, "push", "--quiet", "origin", "main")
	before := r.Head(t, "main")

	res, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() || len(res.Dropped) != 1 || len(res.Applied) != 0 {
		t.Fatalf("result %+v, want the rewrite dropped and no commit", res)
	}
	if r.Head(t, "main") != before {
		t.Fatal("hoist committed over the person's change")
	}
}

func TestWriterNoChangeNoCommit(t *testing.T) {
	r := testgit.NewLocalRepo(t)
	seedApps(t, r, 1)
	w := newTestWriter(t, Repo{URL: r.URL})
	rws := []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}
	if _, err := w.commit(context.Background(), rws, nil); err != nil {
		t.Fatal(err)
	}
	head := r.Head(t, "main")
	// The same rewrite again (a redelivery) changes nothing.
	res, err := w.commit(context.Background(), rws, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Commit.IsZero() || len(res.Dropped) != 1 || r.Head(t, "main") != head {
		t.Fatalf("re-applying made %+v; head %s → %s", res, head, r.Head(t, "main"))
	}
}

func TestWriterGivesUpAfterTheBound(t *testing.T) {
	r := testgit.NewLocalRepo(t)
	seedApps(t, r, 1)
	w := newTestWriter(t, Repo{URL: r.URL})
	w.retry.Attempts = 3
	person := r.Clone(t, "main")
	n := 0
	w.failpoint = func(point string) { // someone always pushes first
		n++
		testgit.Git(t, person, "commit", "--quiet", "--allow-empty", "-m", "race "+itoa(n))
		testgit.Git(t, person, "push", "--quiet", "origin", "main")
	}
	_, err := w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}, nil)
	var rej *RejectedError
	if !errors.As(err, &rej) || n != 3 {
		t.Fatalf("after %d attempts: %v, want a rejected push after 3", n, err)
	}
	if got := r.Log(t, "main").Subjects[r.Head(t, "main")]; got != "race 3" {
		t.Fatalf("head is %q, want the person's last commit", got)
	}
}

func TestWriterOneFinalValuePerSite(t *testing.T) {
	r := testgit.NewLocalRepo(t)
	seed := seedApps(t, r, 1)
	w := newTestWriter(t, Repo{URL: r.URL})
	res, err := w.commit(context.Background(), []bus.Rewrite{
		appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1"),
		appRewrite("gitops", 0, "1.0.0", "1.3.0", "ev-3"),
		appRewrite("gitops", 0, "1.0.0", "1.2.0", "ev-2"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 1 || res.Applied[0].Tag != "1.3.0" || len(res.Dropped) != 2 {
		t.Fatalf("applied %+v dropped %+v, want 1.3.0 to win", res.Applied, res.Dropped)
	}
	if got := testgit.Lines(testgit.Git(t, r.Dir, "rev-list", seed+"..main")); len(got) != 1 {
		t.Fatalf("%d commits, want 1", len(got))
	}
	if diff := testgit.Git(t, r.Dir, "diff", "--unified=0", seed, "main"); !strings.Contains(diff, "+          image: registry.example/app0:1.3.0\n") || strings.Count(diff, "\n+ ") != 1 {
		t.Fatalf("diff:\n%s", diff)
	}
	trailer := testgit.Git(t, r.Dir, "log", "-1", "--format=%(trailers:key=Hoist-Event-Ids,valueonly)", "main")
	if strings.TrimSpace(trailer) != "ev-3" {
		t.Fatalf("trailer %q, want the winning event only", trailer)
	}
}

func TestWriterRebuildsItsClone(t *testing.T) {
	r := testgit.NewLocalRepo(t)
	seedApps(t, r, 3)
	w := newTestWriter(t, Repo{URL: r.URL})
	ctx := context.Background()
	if _, err := w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-0")}, nil); err != nil {
		t.Fatal(err)
	}
	packs := func() int {
		p, _ := filepath.Glob(filepath.Join(w.clone.dir, "objects", "pack", "*.pack"))
		return len(p)
	}
	if packs() < 2 {
		t.Fatalf("%d packs after a fetch and a push", packs())
	}

	// Too many packs: the clone starts over from one shallow fetch.
	w.clone.updates = maxCloneUpdates
	res, err := w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 1, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err != nil || res.Attempts != 1 {
		t.Fatalf("%v after %d attempts", err, res.Attempts)
	}
	if n := packs(); n != 2 {
		t.Fatalf("%d packs after the rebuild, want the fetched one and the pushed one", n)
	}

	// A damaged clone (its packs gone) is rebuilt and the batch still lands.
	all, _ := filepath.Glob(filepath.Join(w.clone.dir, "objects", "pack", "*"))
	for _, p := range all {
		os.Remove(p)
	}
	w.clone.close()
	res, err = w.commit(ctx, []bus.Rewrite{appRewrite("gitops", 2, "1.0.0", "1.1.0", "ev-2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Head(t, "main"); got != res.Commit.String() {
		t.Fatalf("remote head %s, want %s", got, res.Commit)
	}
	r.Fsck(t)
	if h := r.Log(t, "main"); len(h.Commits) != 4 || len(h.Merges) != 0 {
		t.Fatalf("history %v", h.Commits)
	}
}
