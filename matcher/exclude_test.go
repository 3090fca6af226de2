package matcher

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

func TestExcludeGlobs(t *testing.T) {
	globs := []string{"charts/**", "**/templates/**", "apps/*.tmpl.yaml", "vendor"}
	for p, want := range map[string]bool{
		"charts/x.yaml":             true,
		"charts/a/b/c.yaml":         true,
		"templates/a.yaml":          true,
		"apps/web/templates/d.yaml": true,
		"apps/a.tmpl.yaml":          true,
		"apps/sub/a.tmpl.yaml":      false,
		"vendor/x/y.yaml":           true,
		"apps/app.yaml":             false,
		"mycharts/x.yaml":           false,
		"apps/templates.yaml":       false,
	} {
		if got := Excluded(p, globs); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", p, got, want)
		}
	}
	if Excluded("charts/x.yaml", nil) {
		t.Error("no globs exclude nothing")
	}
	if err := (Config{Repos: []Repo{{Name: "a", URL: "u", Branch: "b", Exclude: []string{"apps/[x"}}}}).validate(); err == nil ||
		!strings.Contains(err.Error(), `exclude "apps/[x"`) {
		t.Errorf("bad glob: %v", err)
	}
}

// Excluded files are not indexed; a configured path that does not exist
// or holds no manifest is warned about instead of indexing nothing quietly.
func TestPerRepositoryExcludeGlobs(t *testing.T) {
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{
		"apps/app.yaml":                  releaseYAML,
		"apps/templates/t.yaml":          releaseYAML,
		"charts/web/values.yaml":         releaseYAML,
		"charts/web/templates/dep.yaml":  releaseYAML,
		"docs/readme.md":                 "no manifests here",
		"only-excluded/templates/x.yaml": releaseYAML,
	})
	h := startService(t, Config{Repos: []Repo{{
		Name: "a", URL: a.URL, Branch: "main",
		Paths:   []string{"apps", "charts", "cluster/prod", "docs", "only-excluded"},
		Exclude: []string{"charts/**", "**/templates/**"},
	}}})
	testenv.Eventually(t, "pushes consumed", h.svc.Consuming)
	if files := h.svc.Index("a").Files(); !slices.Equal(files, []string{"apps/app.yaml"}) {
		t.Fatalf("indexed %v", files)
	}
	st := state(t, h.svc, "a")
	want := []string{
		`path "charts" holds no manifest (.yaml or .yml not excluded)`,
		`path "cluster/prod" does not exist`,
		`path "docs" holds no manifest (.yaml or .yml not excluded)`,
		`path "only-excluded" holds no manifest (.yaml or .yml not excluded)`,
	}
	if !slices.Equal(st.Warnings, want) {
		t.Fatalf("warnings = %q", st.Warnings)
	}
	if got := testutil.ToFloat64(h.svc.m.emptyPaths.WithLabelValues("a")); got != 4 {
		t.Fatalf("paths without manifests = %v", got)
	}
}
