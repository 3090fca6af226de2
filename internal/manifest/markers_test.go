package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// readMarkerFixtures parses every file of testdata/markers and resolves
// its marker sites against the ImagePolicy and ImageRepository objects of
// all of them, as the matcher's index does.
func readMarkerFixtures(t *testing.T) (map[string][]byte, []Site, []Problem) {
	t.Helper()
	names, err := filepath.Glob("testdata/markers/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("fixtures: %v", err)
	}
	files := map[string][]byte{}
	var sites []Site
	var problems []Problem
	var objs []FluxObjects
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Base(n)
		files[f] = data
		s, p := Parse(f, data)
		o, op := ReadFluxObjects(f, data)
		sites = append(sites, s...)
		problems = append(problems, p...)
		problems = append(problems, op...)
		objs = append(objs, o)
	}
	return files, resolveMarkers(sites, NewFluxIndex(objs...)), problems
}

// renderMarkerSites is the golden text of marker sites and problems.
func renderMarkerSites(sites []Site, problems []Problem) string {
	var b strings.Builder
	for _, s := range sites {
		if s.Flux == nil {
			continue
		}
		var parts []string
		for r, p := range s.Flux.Parts {
			sc := s.Parts[r]
			parts = append(parts, fmt.Sprintf("%s(:%s)=%q@%d", r, p, sc.Value, sc.Line))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "%s:%d %s %s\n  ref=%s resolved=%v automated=%v parts=%s\n", s.File, s.Line, s.Resource, s.Container,
			s.Ref, s.Flux.Resolved, s.Policy.Automated, strings.Join(parts, " "))
		if s.Flux.Resolved {
			fmt.Fprintf(&b, "  policy=%s\n", s.Flux.Policy.Describe())
		}
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  problem: %s\n", p)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "file problem: %s\n", p)
	}
	return b.String()
}

// TestMarkerSitesGolden covers item 6 and 7 of Flux v2 support: every
// documented marker shape is found (whole image on a workload, :name and
// :tag in HelmRelease values, newName/newTag/digest in a kustomization's
// images:), resolved against its ImagePolicy and ImageRepository, and
// each mistake is reported (missing or invalid policy, missing
// repository, an image that is not the repository's, markers on a
// mapping, unknown suffixes, no namespace).
func TestMarkerSitesGolden(t *testing.T) {
	_, sites, problems := readMarkerFixtures(t)
	got := renderMarkerSites(sites, problems)
	golden := "testdata/markers/sites.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMarkerSitesGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("marker sites differ from %s (run with -update and review the diff):\n%s", golden, got)
	}
}
