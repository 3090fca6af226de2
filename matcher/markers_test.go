package matcher

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/policy"
	"github.com/hoist-gitops/hoist/internal/testenv"
)

// fluxObjectsYAML is the ImageRepository and ImagePolicy "app" the marked
// release names, the repository of image, the policy semver >=1.0.0.
func fluxObjectsYAML(image string) []byte {
	return []byte(testenv.FluxImageObjects(image, ">=1.0.0"))
}

const markedRelease = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: apps
spec:
  values:
    image:
      repository: 127.0.0.1:5000/team/app # {"$imagepolicy": "flux-system:app:name"}
      tag: 1.2.3 # {"$imagepolicy": "flux-system:app:tag"}
    sidecar:
      tag: 1.0.0 # {"$imagepolicy": "flux-system:app:tag"}
`

// TestIndexFluxV2Markers covers item 6 in the index: marker sites are
// looked up by their ImageRepository's image once the ImagePolicy and
// ImageRepository (in another file) are indexed, are resolved again when
// those objects change or go away, and a push is decided by the policy.
func TestIndexFluxV2Markers(t *testing.T) {
	x := NewIndex()
	x.SetFile("apps/release.yaml", []byte(markedRelease))
	const app = "127.0.0.1:5000/team/app"
	if got := markerContainers(x, app); got != "" {
		t.Fatalf("unresolved markers are looked up: %v", got)
	}
	x.SetFile("flux/policies.yaml", fluxObjectsYAML(app))
	containers := markerContainers(x, app)
	want := "marker:flux-system:app@spec.values.image marker:flux-system:app@spec.values.sidecar"
	if containers != want {
		t.Fatalf("Lookup(%s) = %v, want %s", app, containers, want)
	}
	outs := Match(context.Background(), x, bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.3.0", PushedAt: time.Now()}, nil)
	for _, o := range outs {
		if o.Site.Flux == nil {
			continue // the Flux v1 reading of the same values, not automated
		}
		if !o.Decision.Update || o.Decision.New.Tag != "1.3.0" {
			t.Fatalf("%s: %+v", o.Site.Container, o.Decision)
		}
		if rw := NewRewrite("r", "main", bus.PushEvent{Tag: "1.3.0"}, o); !strings.Contains(rw.Policy, `"range":"\u003e=1.0.0"`) && !strings.Contains(rw.Policy, `"range":">=1.0.0"`) {
			t.Fatalf("rewrite carries policy %q", rw.Policy)
		}
	}
	older := Match(context.Background(), x, bus.PushEvent{Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.1.0"}, nil)
	for _, o := range older {
		if o.Site.Flux != nil && o.Site.Container == "marker:flux-system:app@spec.values.image" && o.Decision.Code != policy.CodeNotNewer {
			t.Fatalf("older tag: %+v", o.Decision)
		}
	}

	// The ImageRepository now names another image: the marked name no
	// longer matches, which is a problem, and nothing is looked up.
	x.SetFile("flux/policies.yaml", fluxObjectsYAML("ghcr.io/acme/app"))
	if got := markerContainers(x, app); got != "" {
		t.Fatalf("after the repository changed: %v", got)
	}
	if got := markerContainers(x, "ghcr.io/acme/app"); got != "marker:flux-system:app@spec.values.sidecar" {
		t.Fatalf("tag-only marker not looked up by the new image: %v", got)
	}
	x.RemoveFile("flux/policies.yaml")
	for _, s := range x.Sites() {
		if s.Flux != nil && (s.Flux.Resolved || len(s.Problems) == 0) {
			t.Fatalf("%s resolved without its policy: %+v", s.Container, s)
		}
	}
	if got := markerContainers(x, "ghcr.io/acme/app"); got != "" {
		t.Fatalf("after the policy went away: %v", got)
	}
}

// markerContainers lists the containers of the marker sites Lookup finds.
func markerContainers(x *Index, canonical string) string {
	var out []string
	for _, s := range x.Lookup(canonical) {
		if s.Flux != nil {
			out = append(out, s.Container)
		}
	}
	return strings.Join(out, " ")
}
