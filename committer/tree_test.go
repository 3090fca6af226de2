package committer

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

func TestSplitPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"apps/a.yaml", true},
		{"a.yaml", true},
		{"deep/er/still/a.yml", true},
		{"", false},
		{"/etc/passwd", false},
		{"../outside.yaml", false},
		{"apps/../../outside.yaml", false},
		{"apps/./a.yaml", false},
		{"apps//a.yaml", false},
		{"apps/", false},
		{".git/config", false},
		{"apps/.GIT/config", false},
		{".git./config", false},
		{"apps\\a.yaml", false},
		{"a\x00.yaml", false},
	} {
		_, err := splitPath(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("splitPath(%q) error %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

// seedStore makes a bare repository with files (and symlinks, given as
// "-> target") and opens it with go-git's filesystem storage.
func seedStore(t *testing.T, files map[string]string) (*testgit.Repo, *filesystem.Storage, plumbing.Hash) {
	t.Helper()
	r := testgit.NewLocalRepo(t)
	head := r.SeedFiles(t, "main", files)
	st := filesystem.NewStorage(osfs.New(r.Dir), cache.NewObjectLRUDefault())
	return r, st, plumbing.NewHash(head)
}

func testParams() commitParams {
	return commitParams{
		Repo: "gitops", Branch: "main",
		Template:  template.Must(template.New("m").Parse(DefaultMessageTemplate)),
		Author:    [2]string{DefaultAuthorName, DefaultAuthorEmail},
		Committer: [2]string{DefaultAuthorName, DefaultAuthorEmail},
		Now:       func() time.Time { return time.Unix(1700000000, 0).UTC() },
	}
}

// land stores a built commit's objects in the repository and moves main to
// it, as an accepted push would.
func land(t *testing.T, r *testgit.Repo, st *filesystem.Storage, ov *overlay, b built) {
	t.Helper()
	pack, err := encodePack(ov, b.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if err := packfile.UpdateObjectStorage(st, strings.NewReader(string(pack))); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, r.Dir, "update-ref", "refs/heads/main", b.Commit.String())
}

func TestBuildCommitRewritesOnlyTheChangedPaths(t *testing.T) {
	files := map[string]string{"README.md": "hello\n"}
	for i := range 40 {
		dir := []string{"apps/team-a", "apps/team-b", "infra", "clusters/prod/apps"}[i%4]
		name := "svc" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		files[dir+"/"+name+".yaml"] = deployment(name, "registry.example/"+name+":1.0.0")
	}
	r, st, head := seedStore(t, files)
	rws := []bus.Rewrite{
		rewrite("gitops", "main", "apps/team-a/svca0.yaml", "svca0", "1.0.0", "1.1.0", "ev-1"),
		rewrite("gitops", "main", "clusters/prod/apps/svcd0.yaml", "svcd0", "1.0.0", "2.0.0", "ev-2"),
	}
	ov := newOverlay(st)
	b, err := buildCommit(ov, head, rws, testEditor(), nil, testParams())
	if err != nil {
		t.Fatal(err)
	}
	if b.Commit.IsZero() || len(b.Applied) != 2 || len(b.Dropped) != 0 {
		t.Fatalf("built %+v", b)
	}
	// 2 blobs, the trees root, apps, apps/team-a, clusters, clusters/prod,
	// clusters/prod/apps, and the commit: nothing else is written.
	if len(b.Objects) != 9 {
		t.Fatalf("wrote %d objects, want 9 (2 blobs, 6 trees, 1 commit)", len(b.Objects))
	}
	land(t, r, st, ov, b)
	changed := testgit.Lines(testgit.Git(t, r.Dir, "diff", "--name-only", head.String(), "main"))
	sort.Strings(changed)
	if strings.Join(changed, ",") != "apps/team-a/svca0.yaml,clusters/prod/apps/svcd0.yaml" {
		t.Fatalf("changed files %v", changed)
	}
	diff := testgit.Git(t, r.Dir, "diff", "--unified=0", head.String(), "main", "--", "apps/team-a/svca0.yaml")
	if !strings.Contains(diff, "-          image: registry.example/svca0:1.0.0\n+          image: registry.example/svca0:1.1.0\n") {
		t.Fatalf("diff is not exactly the tag change:\n%s", diff)
	}
	if got := testgit.Git(t, r.Dir, "rev-parse", "main^"); strings.TrimSpace(got) != head.String() {
		t.Fatalf("parent %s, want %s", got, head)
	}
	r.Fsck(t)
	msg := testgit.Git(t, r.Dir, "log", "-1", "--format=%B", "main")
	want := "Update images\n\n" +
		"- apps/team-a/svca0.yaml: apps:deployment/svca0 app: registry.example/svca0:1.0.0 → registry.example/svca0:1.1.0\n" +
		"- clusters/prod/apps/svcd0.yaml: apps:deployment/svcd0 app: registry.example/svcd0:1.0.0 → registry.example/svcd0:2.0.0\n\n" +
		"Hoist-Event-Ids: ev-1, ev-2\n"
	if strings.TrimSpace(msg) != strings.TrimSpace(want) {
		t.Fatalf("message:\n%s\nwant:\n%s", msg, want)
	}
	trailers := testgit.Git(t, r.Dir, "-c", "trailer.separators=:", "interpret-trailers", "--parse", filepath.Join(writeTemp(t, msg)))
	if strings.TrimSpace(trailers) != "Hoist-Event-Ids: ev-1, ev-2" {
		t.Fatalf("trailers %q", trailers)
	}
	who := testgit.Git(t, r.Dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")
	if strings.TrimSpace(who) != "hoist <hoist@localhost>|hoist <hoist@localhost>" {
		t.Fatalf("author|committer %q", who)
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildCommitDropsUnsafeAndMissingPaths(t *testing.T) {
	r, st, head := seedStore(t, map[string]string{
		"apps/real.yaml":   deployment("real", "registry.example/real:1.0.0"),
		"apps/link.yaml":   "-> real.yaml",
		"linked":           "-> apps",
		"outside.yaml":     "-> ../../etc/passwd",
		"apps/other.yaml":  deployment("other", "registry.example/other:1.0.0"),
		"apps/script.yaml": deployment("script", "registry.example/script:1.0.0"),
	})
	for _, tc := range []struct {
		file, reason string
	}{
		{"apps/link.yaml", "symlink"},
		{"linked/real.yaml", "symlink"},
		{"outside.yaml", "symlink"},
		{"../etc/passwd", "escapes"},
		{".git/config", ".git"},
		{"apps/missing.yaml", "not found"},
		{"apps/real.yaml/x", "not a folder"},
		{"apps", "not a regular file"},
	} {
		rw := rewrite("gitops", "main", tc.file, "real", "1.0.0", "1.1.0", "ev-"+tc.file)
		b, err := buildCommit(newOverlay(st), head, []bus.Rewrite{rw}, testEditor(), nil, testParams())
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !b.Commit.IsZero() || len(b.Dropped) != 1 || !strings.Contains(b.Dropped[0].Reason, tc.reason) {
			t.Errorf("%s: commit %s dropped %+v, want dropped with %q", tc.file, b.Commit, b.Dropped, tc.reason)
		}
	}
	// A batch with a good and a bad rewrite commits the good one only.
	ov := newOverlay(st)
	b, err := buildCommit(ov, head, []bus.Rewrite{
		rewrite("gitops", "main", "linked/real.yaml", "real", "1.0.0", "1.1.0", "ev-bad"),
		rewrite("gitops", "main", "apps/other.yaml", "other", "1.0.0", "1.2.0", "ev-good"),
	}, testEditor(), nil, testParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Applied) != 1 || len(b.Dropped) != 1 || b.Applied[0].EventIDs[0] != "ev-good" {
		t.Fatalf("applied %+v dropped %+v", b.Applied, b.Dropped)
	}
	land(t, r, st, ov, b)
	r.Fsck(t)
	for _, p := range []string{"linked", "apps/link.yaml", "outside.yaml"} {
		if mode := strings.Fields(testgit.Git(t, r.Dir, "ls-tree", "main", p))[0]; mode != "120000" {
			t.Errorf("%s has mode %s after the commit, want the symlink kept", p, mode)
		}
	}
	if got := r.Show(t, "main", "apps/real.yaml"); !strings.Contains(got, "real:1.0.0") {
		t.Errorf("the symlink's target changed:\n%s", got)
	}
}
