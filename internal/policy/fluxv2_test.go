package policy

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/wire"
)

const podinfo = "ghcr.io/stefanprodan/podinfo"

// markerSite is a resolved whole-image marker site reading podinfo:tag.
func markerSite(t *testing.T, spec manifest.ImagePolicy, value string) manifest.Site {
	t.Helper()
	file := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: " +
		value + " # {\"$imagepolicy\": \"flux-system:p\"}\n"
	sites, problems := manifest.Parse("pod.yaml", []byte(file))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	for _, s := range sites {
		if s.Flux != nil {
			spec.Namespace, spec.Name, spec.RepositoryNamespace, spec.RepositoryName = "flux-system", "p", "flux-system", "r"
			s = manifest.Bind(s, spec, podinfo)
			if !s.Flux.Resolved {
				t.Fatalf("not resolved: %v", s.Problems)
			}
			return s
		}
	}
	t.Fatalf("no marker site in %q", file)
	return manifest.Site{}
}

// TestFluxV2PolicyDecisions covers item 6: each Flux v2 policy (semver
// range, alphabetical asc/desc, numerical asc/desc, filterTags pattern with
// extract) admits the tags Flux would consider, and a push only moves a
// site to a tag later in the policy's order (never older).
func TestFluxV2PolicyDecisions(t *testing.T) {
	semver := manifest.ImagePolicy{Order: manifest.OrderSemver, Range: ">=5.0.0 <6.0.0"}
	alpha := manifest.ImagePolicy{Order: manifest.OrderAlphabetical}
	alphaDesc := manifest.ImagePolicy{Order: manifest.OrderAlphabetical, Descending: true}
	num := manifest.ImagePolicy{Order: manifest.OrderNumerical}
	numDesc := manifest.ImagePolicy{Order: manifest.OrderNumerical, Descending: true}
	extract := manifest.ImagePolicy{Order: manifest.OrderNumerical,
		Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}
	extractSemver := manifest.ImagePolicy{Order: manifest.OrderSemver, Range: ">=1.0.0",
		Pattern: `^v(?P<version>.*)-rc$`, Extract: "${version}"}
	tests := []struct {
		name string
		spec manifest.ImagePolicy
		cur  string
		tag  string
		code Code
	}{
		{"semver higher", semver, "5.0.0", "5.1.0", CodeUpdate},
		{"semver lower", semver, "5.1.0", "5.0.3", CodeNotNewer},
		{"semver out of range", semver, "5.1.0", "6.0.0", CodeFilterMismatch},
		{"semver not a version", semver, "5.1.0", "latest", CodeFilterMismatch},
		{"semver v prefix", semver, "5.1.0", "v5.2.0", CodeUpdate},
		{"semver equal version other spelling", semver, "5.1.0", "v5.1.0", CodeNotNewer},
		{"semver current not a version", semver, "main", "5.0.0", CodeUpdate},
		{"semver needs three parts", semver, "5.0.0", "5.1", CodeFilterMismatch},
		{"semver leading zeros", manifest.ImagePolicy{Order: manifest.OrderSemver, Range: ">=2025.1.1"}, "2025.01.02", "2025.02.03", CodeUpdate},
		{"same tag", semver, "5.1.0", "5.1.0", CodeSame},
		{"alphabetical later", alpha, "2024-01-b", "2024-01-c", CodeUpdate},
		{"alphabetical earlier", alpha, "2024-01-b", "2024-01-a", CodeNotNewer},
		{"alphabetical desc earlier wins", alphaDesc, "b", "a", CodeUpdate},
		{"alphabetical desc later refused", alphaDesc, "b", "c", CodeNotNewer},
		{"numerical greater", num, "10", "11", CodeUpdate},
		{"numerical not lexical", num, "9", "10", CodeUpdate},
		{"numerical smaller", num, "10", "9", CodeNotNewer},
		{"numerical not a number", num, "10", "ten", CodeFilterMismatch},
		{"numerical desc", numDesc, "10", "9", CodeUpdate},
		{"numerical desc greater refused", numDesc, "10", "11", CodeNotNewer},
		{"extract later", extract, "main-abc123-100", "main-def456-200", CodeUpdate},
		{"extract earlier despite hash order", extract, "main-abc123-200", "main-fff999-100", CodeNotNewer},
		{"extract pattern mismatch", extract, "main-abc123-200", "dev-abc-300", CodeFilterMismatch},
		{"extract semver named group", extractSemver, "v1.0.0-rc", "v1.1.0-rc", CodeUpdate},
		{"extract semver older", extractSemver, "v1.1.0-rc", "v1.0.9-rc", CodeNotNewer},
		{"cosign tag", alpha, "a", "sha256-" + strings.Repeat("a", 64) + ".sig", CodeExcludedTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := markerSite(t, tt.spec, podinfo+":"+tt.cur)
			d := Decide(context.Background(), s, Candidate{Tag: tt.tag}, nil)
			if d.Code != tt.code {
				t.Fatalf("Decide(%s → %s) = %s (%s), want %s", tt.cur, tt.tag, d.Code, d.Reason, tt.code)
			}
			if d.Update && d.New.String() != podinfo+":"+tt.tag {
				t.Fatalf("New = %s", d.New)
			}
		})
	}
}

// TestFluxV2MarkerNewer: in one batch the later tag by the policy's order wins.
func TestFluxV2MarkerNewer(t *testing.T) {
	extract := manifest.ImagePolicy{Order: manifest.OrderNumerical, Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}
	if !markerNewer(extract, Candidate{Tag: "main-aaa-20"}, Candidate{Tag: "main-fff-3"}) {
		t.Fatal("main-aaa-20 should win over main-fff-3 by the extracted number")
	}
	desc := manifest.ImagePolicy{Order: manifest.OrderAlphabetical, Descending: true}
	if markerNewer(desc, Candidate{Tag: "b"}, Candidate{Tag: "a"}) {
		t.Fatal("alphabetical desc: a should win over b")
	}
}

// TestFluxV2RewriteRecheck covers item 7: the committer's re-check finds a
// marker site again in the file at the branch head (by resource and
// container "marker:<ns>:<policy>@<path>"), decides it with the ImagePolicy
// the rewrite carries, and edits only the marked bytes; a head that
// already moved past the pushed tag keeps its value (never older).
func TestFluxV2RewriteRecheck(t *testing.T) {
	data, err := os.ReadFile("testdata/markers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := manifest.ImagePolicy{Namespace: "flux-system", Name: "podinfo", RepositoryNamespace: "flux-system",
		RepositoryName: "podinfo", Order: manifest.OrderSemver, Range: ">=5.0.0", DigestReflection: manifest.DigestAlways, Image: podinfo}
	pj, _ := json.Marshal(spec)
	dg := "sha256:" + strings.Repeat("b", 64)
	rw := func(res, container string) wire.Rewrite {
		return wire.Rewrite{File: "markers.yaml", Resource: res, Container: container, Image: "ghcr.io/stefanprodan/podinfo",
			Tag: "5.1.0", Digest: dg, Policy: string(pj)}
	}
	rws := []wire.Rewrite{
		rw("apps:deployment/podinfo", "marker:flux-system:podinfo@spec.template.spec.containers[0]"),
		rw("apps:helmrelease/podinfo", "marker:flux-system:podinfo@spec.values.image"),
	}
	out, results, err := ApplyRewrites(context.Background(), "markers.yaml", data, rws, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Applied {
			t.Fatalf("%s not applied: %s", r.Rewrite.Container, r.Reason)
		}
	}
	want := strings.NewReplacer(
		"podinfo:5.0.0   #", "podinfo:5.1.0@"+dg+"   #",
		"tag: '5.0.0' #", "tag: '5.1.0' #",
		`digest: "" #`, `digest: "`+dg+`" #`,
	).Replace(string(data))
	if string(out) != want {
		t.Fatalf("edited file:\n%s\nwant:\n%s", out, want)
	}

	// At the head the tag already moved to 5.2.0: the rewrite is dropped.
	head := strings.Replace(string(data), "tag: '5.0.0'", "tag: '5.2.0'", 1)
	out, results, err = ApplyRewrites(context.Background(), "markers.yaml", []byte(head), rws[1:], nil)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Applied || string(out) != head {
		t.Fatalf("rewrite to an older tag applied: %+v", results[0])
	}
	// A rewrite without its policy is refused: the committer does not guess.
	bare := rws[0]
	bare.Policy = ""
	_, results, _ = ApplyRewrites(context.Background(), "markers.yaml", data, []wire.Rewrite{bare}, nil)
	if results[0].Applied || !strings.Contains(results[0].Reason, "carries no ImagePolicy") {
		t.Fatalf("rewrite without policy: %+v", results[0])
	}
}
