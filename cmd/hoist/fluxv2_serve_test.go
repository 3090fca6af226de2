package main

import (
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// serveFluxObjects are the ImageRepository and ImagePolicy "app" that
// serveMarked's setter markers name: 127.0.0.1:5000/team/app, semver 1.x.
var serveFluxObjects = testenv.FluxImageObjects("127.0.0.1:5000/team/app", ">=1.0.0 <2.0.0")

const serveMarked = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
spec:
  template:
    spec:
      containers:
      - name: app
        image: 127.0.0.1:5000/team/app:1.2.3 # {"$imagepolicy": "flux-system:app"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: apps
spec:
  values:
    image:
      repository: 127.0.0.1:5000/team/app  # {"$imagepolicy": "flux-system:app:name"}
      tag: "1.2.3"  # {"$imagepolicy": "flux-system:app:tag"}
`

// TestServeFluxV2MarkersWebhookToCommit covers items 6 and 7 end to end:
// with hoist serve, a registry webhook for an image whose sites are Flux v2
// setter markers becomes a commit that changes exactly the marked fields.
func TestServeFluxV2MarkersWebhookToCommit(t *testing.T) {
	h := startServe(t, serveOpts{files: map[string]string{
		"flux-system/images.yaml": serveFluxObjects,
		"apps/app.yaml":           serveMarked,
	}})
	h.mustPush(t, "127.0.0.1:5000/team/app:1.3.0")
	want := strings.NewReplacer(
		"team/app:1.2.3 #", "team/app:1.3.0 #",
		`tag: "1.2.3"`, `tag: "1.3.0"`,
	).Replace(serveMarked)
	testenv.Eventually(t, "the commit", func() bool {
		return h.repo.Head(t, "main") != h.seed && h.repo.Show(t, "main", "apps/app.yaml") == want
	})
	if got := h.repo.Show(t, "main", "flux-system/images.yaml"); got != serveFluxObjects {
		t.Fatalf("the policies changed:\n%s", got)
	}
}
