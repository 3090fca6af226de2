package committer

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/rs/zerolog"
)

// testEditor is the real re-check (policy.ApplyRewrites) without tag history.
func testEditor() Editor { return policyEditor(nil) }

// deployment is an automated Deployment manifest with one container.
func deployment(name, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: apps
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/app: semver:>=1.0.0
spec:
  template:
    spec:
      containers:
        - name: app
          image: %s
`, name, image)
}

// rewrite is the rewrite of app's Deployment in file from tag old to new.
func rewrite(repo, branch, file, name, old, new, eventID string) bus.Rewrite {
	img := "registry.example/" + name
	return bus.Rewrite{
		EventIDs: []string{eventID}, Repo: repo, Branch: branch, File: file,
		Resource: "apps:deployment/" + name, Container: "app", Image: img,
		Old: img + ":" + old, New: img + ":" + new, Tag: new,
		PushedAt: time.Now(), ReceivedAt: time.Now(),
	}
}

// testLogger writes JSON logs into the test log when -v is set.
func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger()
	}
	return zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
}
