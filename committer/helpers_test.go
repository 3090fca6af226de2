package committer

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/rs/zerolog"
)

// testEditor is the re-check the tests run with.
func testEditor() Editor { return replaceEditor }

// replaceEditor stands in for policy.ApplyRewrites until it lands: a site
// is the line "image: <Old>"; a file that already reads New drops the
// rewrite, so re-applying is a no-op.
func replaceEditor(file string, data []byte, rws []bus.Rewrite) ([]byte, []Outcome, error) {
	out := append([]byte(nil), data...)
	var res []Outcome
	for _, rw := range rws {
		oldLine := []byte("image: " + rw.Old + "\n")
		newLine := []byte("image: " + rw.New + "\n")
		switch {
		case bytes.Contains(out, oldLine):
			out = bytes.Replace(out, oldLine, newLine, 1)
			res = append(res, Outcome{Rewrite: rw, Applied: true})
		case bytes.Contains(out, newLine):
			res = append(res, Outcome{Rewrite: rw, Reason: "already at the value"})
		default:
			res = append(res, Outcome{Rewrite: rw, Reason: "site changed at the head"})
		}
	}
	return out, res, nil
}

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
