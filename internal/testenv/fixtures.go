package testenv

import (
	_ "embed"
	"strings"
)

//go:embed testdata/flux-image-objects.yaml
var fluxImageObjects string

// FluxImageObjects is the Flux v2 objects setter markers such as
// {"$imagepolicy": "flux-system:app:tag"} name: an ImageRepository "app"
// of image and an ImagePolicy "app" choosing its tags by the semver range,
// both in flux-system. One fixture for the matcher's and hoist serve's
// tests, so that the two read the same objects.
func FluxImageObjects(image, semverRange string) string {
	return strings.NewReplacer("$IMAGE", image, "$RANGE", semverRange).Replace(fluxImageObjects)
}

// HelmRelease is a Flux HelmRelease name in namespace apps, automated,
// whose chart-image filter is filter, with more annotations ("key: value";
// "" adds none), and whose values.image is image (repository:tag) split
// into its repository and tag keys: the automated site most tests change.
func HelmRelease(name, image, filter string, annotations ...string) string {
	repo, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	var b strings.Builder
	b.WriteString("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " + name + "\n  namespace: apps\n")
	b.WriteString("  annotations:\n    fluxcd.io/automated: \"true\"\n    filter.fluxcd.io/chart-image: " + filter + "\n")
	for _, a := range annotations {
		if a != "" {
			b.WriteString("    " + a + "\n")
		}
	}
	b.WriteString("spec:\n  values:\n    image:\n      repository: " + repo + "\n      tag: " + tag + "\n")
	return b.String()
}
