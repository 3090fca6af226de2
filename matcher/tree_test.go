package matcher

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// Tree entries that are not safe paths ("..", ".git", "a/../b") are each a
// problem of that path; the rest of the repository, and every other
// repository, is indexed and matched.
func TestCraftedTreeEntry(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	// ok.yaml holds another release: the same one in two files is a problem of its own.
	okYAML := strings.Replace(releaseYAML, "name: app\n", "name: ok\n", 1)
	craftCommit(t, a, "main", treeNode{
		"..":       treeNode{"app.yaml": releaseYAML},
		".git":     treeNode{"config.yaml": releaseYAML},
		".GIT.":    treeNode{"x.yaml": releaseYAML},
		"apps":     treeNode{"..": treeNode{"b.yaml": releaseYAML}, "app.yaml": releaseYAML},
		"ok.yaml":  okYAML,
		"/abs":     treeNode{"x.yaml": releaseYAML},
		"notes.md": "not a manifest",
	})
	b := srv.NewRepo(t, "b")
	b.SeedFiles(t, "main", map[string]string{"release.yaml": releaseYAML})
	h := startService(t, Config{Repos: []Repo{
		{Name: "a", URL: a.URL, Branch: "main"},
		{Name: "b", URL: b.URL, Branch: "main"},
	}})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	idx := h.svc.Index("a")
	var sites []string
	for _, s := range idx.Sites() {
		sites = append(sites, s.File)
	}
	if want := []string{"apps/app.yaml", "ok.yaml"}; !slices.Equal(sites, want) {
		t.Errorf("sites in %v, want %v", sites, want)
	}
	var problems []string
	for _, p := range idx.Problems() {
		problems = append(problems, p.File)
		if !strings.Contains(p.Message, "not read") {
			t.Errorf("problem %+v", p)
		}
	}
	if want := []string{"..", ".GIT.", ".git", "/abs", "apps/.."}; !slices.Equal(problems, want) {
		t.Errorf("problems of %v, want %v", problems, want)
	}
	now := time.Now()
	h.push(t, bus.PushEvent{ID: "ev", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	if rws := h.rewrites(t, "a", "main", 2); rws[0].File == rws[1].File {
		t.Errorf("rewrites %+v", rws)
	}
	h.rewrites(t, "b", "main", 1)

	// A later commit adding another unsafe entry is read whole, not diffed.
	head := craftCommit(t, a, "main", treeNode{
		"..":      treeNode{"app.yaml": releaseYAML},
		"new":     treeNode{".git": treeNode{"c.yaml": releaseYAML}, "n.yaml": releaseYAML},
		"ok.yaml": okYAML,
	})
	h.announce(t, "a", "main", head)
	testenv.Eventually(t, "reindexed", func() bool {
		return slices.Equal(h.svc.Index("a").Files(), []string{"..", "new/.git", "new/n.yaml", "ok.yaml"})
	})
	if !h.svc.Ready() {
		t.Fatalf("not ready: %v", h.svc.Readiness(t.Context()))
	}
}

func TestBadName(t *testing.T) {
	for name, bad := range map[string]bool{
		"app.yaml": false, "..x": false, ".gitignore": false, "git": false,
		"": true, ".": true, "..": true, ".git": true, ".Git": true, ".git.": true, ".git ": true,
		"a/b": true, "/abs.yaml": true, `a\b`: true, "a\x00b": true, "tab\there": true,
	} {
		if got := badName(name) != ""; got != bad {
			t.Errorf("badName(%q) = %q", name, badName(name))
		}
	}
}
