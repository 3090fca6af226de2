package main

import (
	"path/filepath"
	"strings"
	"testing"
)

var fluxv2Dir = filepath.Join(testdataDir, "fluxv2/in")

// TestImagesFluxV2Markers covers item 7 for `hoist images`: every marker
// site is listed with its ImagePolicy as the filter, and a marker naming a
// missing policy is a problem.
func TestImagesFluxV2Markers(t *testing.T) {
	t.Chdir(fluxv2Dir)
	out := runGolden(t, "fluxv2/images.golden", "images")
	if !strings.Contains(out, "imagepolicy:flux-system/podinfo semver:5.0.x") {
		t.Errorf("no policy in the filter column:\n%s", out)
	}
}

// TestExplainFluxV2Markers covers item 7 for `hoist explain`: a push is
// decided for each marker site by its policy, and --write edits exactly
// the marked fields, as the committer would.
func TestExplainFluxV2Markers(t *testing.T) {
	t.Chdir(fluxv2Dir)
	for _, tc := range []struct{ golden, image string }{
		{"fluxv2/explain-5.0.3.golden", "ghcr.io/stefanprodan/podinfo:5.0.3"},
		{"fluxv2/explain-main.golden", "ghcr.io/stefanprodan/podinfo:main-9f8e7d6c-1700000500"},
	} {
		runGolden(t, tc.golden, "explain", tc.image)
	}
	dir := copyTree(t, fluxv2Dir)
	t.Chdir(dir)
	var log strings.Builder
	for _, img := range []string{"ghcr.io/stefanprodan/podinfo:5.0.3", "ghcr.io/stefanprodan/podinfo:5.0.2",
		"ghcr.io/stefanprodan/podinfo:main-9f8e7d6c-1700000500"} {
		code, out, errOut := runHoist(t, "explain", "--write", img)
		if code != 0 || errOut != "" {
			t.Fatalf("explain --write %s: exit %d, stderr %q", img, code, errOut)
		}
		log.WriteString("$ hoist explain --write " + img + "\n" + out)
	}
	checkGolden(t, "fluxv2/write.txt", log.String())
	goldenTree(t, dir, fluxv2Dir, "fluxv2/out")
}
