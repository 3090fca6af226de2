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
