package matcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/hoist-gitops/hoist/internal/testgit"
)

func paths(fs []file) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path+"="+string(f.Data))
	}
	sort.Strings(out)
	return out
}

func TestSourceSnapshotAndChanges(t *testing.T) {
	ctx := context.Background()
	srv := testgit.NewServer(t, testgit.WithBasicAuth("hoist", "pw"))
	repo := srv.NewRepo(t, "gitops")
	first := repo.SeedFiles(t, "main", map[string]string{
		"apps/x.yaml":     "x1",
		"apps/y.yaml":     "y1",
		"apps/deep/v.yml": "v1",
		"apps/notes.md":   "not a manifest",
		"other/z.yaml":    "outside paths",
	})
	s, err := newSource(Repo{Name: "gitops", URL: repo.URL, Branch: "main", Paths: []string{"apps"}, Auth: Auth{Username: "hoist", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	h1, err := s.fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h1.String() != first {
		t.Fatalf("fetched %s, want %s", h1, first)
	}
	snap, err := s.snapshot(h1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(snap), []string{"apps/deep/v.yml=v1", "apps/x.yaml=x1", "apps/y.yaml=y1"}; !equal(got, want) {
		t.Fatalf("snapshot = %v, want %v", got, want)
	}

	second := repo.SeedFiles(t, "main", map[string]string{
		"apps/x.yaml":     "x2",
		"apps/deep/v.yml": "v1",
		"apps/new.yaml":   "n1",
		"apps/notes.md":   "changed, still not a manifest",
		"other/z.yaml":    "changed outside paths",
	})
	h2, err := s.fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h2.String() != second || s.updates != 2 {
		t.Fatalf("fetched %s (updates %d), want %s", h2, s.updates, second)
	}
	changed, removed, err := s.changes(ctx, h1, h2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(changed), []string{"apps/new.yaml=n1", "apps/x.yaml=x2"}; !equal(got, want) {
		t.Fatalf("changed = %v, want %v", got, want)
	}
	if len(removed) != 1 || removed[0] != "apps/y.yaml" {
		t.Fatalf("removed = %v, want [apps/y.yaml]", removed)
	}
	// Fetching again without a new commit keeps the head and the update count.
	h3, err := s.fetch(ctx)
	if err != nil || h3 != h2 || s.updates != 2 {
		t.Fatalf("refetch = %s, %v (updates %d)", h3, err, s.updates)
	}
	// After a reset the next fetch is a fresh shallow clone of the same head.
	s.reset()
	h4, err := s.fetch(ctx)
	if err != nil || h4 != h2 {
		t.Fatalf("fetch after reset = %s, %v", h4, err)
	}
	if _, err := s.tree(h1); err == nil {
		t.Fatal("old head still present after reset")
	}
}

func TestSourceWrongPassword(t *testing.T) {
	srv := testgit.NewServer(t, testgit.WithBasicAuth("hoist", "pw"))
	repo := srv.NewRepo(t, "gitops")
	repo.SeedFiles(t, "main", map[string]string{"a.yaml": "a"})
	s, err := newSource(Repo{Name: "gitops", URL: repo.URL, Branch: "main", Auth: Auth{Username: "hoist", Password: "wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := s.fetch(context.Background()); err == nil || h != plumbing.ZeroHash {
		t.Fatalf("fetch with a wrong password = %s, %v", h, err)
	}
}

func TestUnderPaths(t *testing.T) {
	cases := []struct {
		p       string
		folders []string
		want    bool
	}{
		{"a/b.yaml", []string{"."}, true},
		{"a/b.yaml", []string{"a"}, true},
		{"a/b.yaml", []string{"./a/"}, true},
		{"ab/b.yaml", []string{"a"}, false},
		{"b.yaml", []string{"a", "b.yaml"}, true},
		{"x/y/z.yaml", []string{"x/y"}, true},
		{"x/yz.yaml", []string{"x/y"}, false},
	}
	for _, c := range cases {
		if got := underPaths(c.p, c.folders); got != c.want {
			t.Errorf("underPaths(%q, %v) = %v", c.p, c.folders, got)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// countingProxy forwards to target and counts the bytes of the answers.
func countingProxy(t *testing.T, target string) (string, *atomic.Int64) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		r.Body = countingBody{r.Body, &n}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// After the first (shallow) fetch, a fetch transfers what the new commit
// adds, not the head's whole tree again.
func TestSourceFetchIsIncremental(t *testing.T) {
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	files := map[string]string{}
	for i := range 300 {
		b := make([]byte, 512)
		rand.Read(b)
		files[fmt.Sprintf("apps/f%03d.yaml", i)] = hex.EncodeToString(b)
	}
	repo.SeedFiles(t, "main", files)
	proxied, n := countingProxy(t, srv.URL)
	s, err := newSource(Repo{Name: "gitops", URL: proxied + "/gitops.git", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := n.Swap(0)
	files["apps/f000.yaml"] = "changed"
	repo.SeedFiles(t, "main", files)
	if _, err := s.fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if second := n.Load(); second*10 > first {
		t.Fatalf("second fetch transferred %d bytes, first %d: the whole tree was sent again", second, first)
	}
}

// A symbolic link with a manifest's name is reported, never followed.
func TestSourceSymlinkIsNotFollowed(t *testing.T) {
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "real.yaml"), []byte("kind: ConfigMap\nmetadata: {name: real}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	repo.SeedDir(t, "main", src)
	s, err := newSource(Repo{Name: "gitops", URL: repo.URL, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.snapshot(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 2 || snap[0].Path != "link.yaml" || !snap[0].Link || snap[0].Data != nil || snap[1].Path != "real.yaml" {
		t.Fatalf("snapshot = %+v", snap)
	}
	idx := NewIndex()
	setFiles(idx, snap)
	if ps := idx.Problems(); len(ps) != 1 || ps[0].File != "link.yaml" {
		t.Fatalf("problems = %+v", ps)
	}
}
