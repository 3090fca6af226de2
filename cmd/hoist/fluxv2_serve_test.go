package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

const serveFluxObjects = `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: 127.0.0.1:5000/team/app
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: ">=1.0.0 <2.0.0"
`

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
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	seed := repo.SeedFiles(t, "main", map[string]string{
		"flux-system/images.yaml": serveFluxObjects,
		"apps/app.yaml":           serveMarked,
	})
	dir := t.TempDir()
	addr := freePort(t)
	cfg, problems := config.Parse("hoist.yaml", []byte(fmt.Sprintf(`
nats: {dataDir: %[1]s/nats}
dataDir: %[1]s/data
listen: %[2]s
receivers:
  - {name: ci, kind: generic, secret: s3cret}
# The webhooks announce tags that exist in no registry: trust them.
images: [{match: "**", verify: none}]
repositories:
  - name: gitops
    url: %[3]s
    commit: {window: 0s}
`, dir, addr, repo.URL)), config.AllStages)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &lockedBuffer{b: &bytes.Buffer{}}
	go func() {
		done <- serveStages(ctx, "serve", stages{ingest: true, match: true, commit: true, embedded: true}, cfg, zerolog.New(logs))
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop after cancel")
		}
	}()
	base := "http://" + addr
	pollUntil(t, "/readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/ci", strings.NewReader(`{"image":"127.0.0.1:5000/team/app:1.3.0"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	want := strings.NewReplacer(
		"team/app:1.2.3 #", "team/app:1.3.0 #",
		`tag: "1.2.3"`, `tag: "1.3.0"`,
	).Replace(serveMarked)
	pollUntil(t, "the commit", func() bool {
		return repo.Head(t, "main") != seed && repo.Show(t, "main", "apps/app.yaml") == want
	})
	if got := repo.Show(t, "main", "flux-system/images.yaml"); got != serveFluxObjects {
		t.Fatalf("the policies changed:\n%s", got)
	}
}
