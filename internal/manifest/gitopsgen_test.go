package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-gitops/hoist/internal/gitopsgen"
)

// loadRepo generates a synthetic GitOps repository of n files and reads it.
func loadRepo(tb testing.TB, n int) (gitopsgen.Stats, map[string][]byte) {
	tb.Helper()
	dir := tb.TempDir()
	st, err := gitopsgen.Generate(dir, n, 1)
	if err != nil {
		tb.Fatal(err)
	}
	files := make(map[string][]byte, len(st.Paths))
	for _, p := range st.Paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			tb.Fatal(err)
		}
		files[p] = b
	}
	return st, files
}

// TestGeneratedRepository checks Parse against the generator's own account
// of what it wrote: the same number of sites per canonical repository, a
// problem for every broken file, and the edit property for a sample.
func TestGeneratedRepository(t *testing.T) {
	st, files := loadRepo(t, 400)
	repos := map[string]int{}
	total, brokenFiles := 0, 0
	for p, b := range files {
		sites, problems := Parse(p, b)
		total += len(sites)
		for _, s := range sites {
			repos[s.Ref.Canonical()]++
		}
		for _, pr := range problems {
			if pr.Resource == "" {
				brokenFiles++
				break
			}
		}
	}
	if total != st.Sites {
		t.Errorf("Parse found %d sites, the generator wrote %d", total, st.Sites)
	}
	for r, n := range st.Repos {
		if repos[r] != n {
			t.Errorf("%s: %d sites, want %d", r, repos[r], n)
		}
	}
	if brokenFiles != st.Broken {
		t.Errorf("%d files with YAML problems, the generator wrote %d broken", brokenFiles, st.Broken)
	}
	checked := 0
	for _, p := range st.Paths[:60] {
		sites, _ := Parse(p, files[p])
		for i := range sites {
			if err := checkEdit(t, p, files[p], i, "v99.0.0", testDigest); err == nil {
				checked++
			}
		}
	}
	if checked == 0 {
		t.Error("no generated site could be edited")
	}
}
