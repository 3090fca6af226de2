package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// hoist serve verifies pushed tags by default, in a registry that asks for
// credentials, logged in as registries: says: a tag the registry does not
// have is not written, one it has is, and the password is in no log line.
func TestServeVerifiesTagsInItsRegistry(t *testing.T) {
	const password = "registry-password-never-logged"
	reg := testregistry.Start(t, testregistry.Options{Users: map[string]string{"hoist": password}})
	digest := reg.PushImage(t, "team/app", "1.2.4")
	pwFile := filepath.Join(t.TempDir(), "registry-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveOpts{
		files: map[string]string{
			"apps/app.yaml": strings.Replace(serveRelease, "127.0.0.1:5000/team/app", reg.Host+"/team/app", 1),
		},
		defaultImages: true,
		extra: fmt.Sprintf(`# Webhooks only: a scan would find 1.2.4 before the test announces it.
scan: {interval: 0}
registries:
  - host: %s
    auth: {username: hoist, passwordFile: %s}
`, reg.Host, pwFile),
	})
	push := func(tag string) {
		t.Helper()
		s.mustPost(t, tag, fmt.Sprintf(`{"image":"%s/team/app:%s"}`, reg.Host, tag))
	}

	push("1.2.5") // announced, never pushed to the registry
	testenv.Eventually(t, "the missing tag reported", func() bool {
		return s.hasMetric(`hoist_matcher_registry_checks_total{result="not_in_registry"} 1`)
	})
	if head := s.repo.Head(t, "main"); head != s.seed {
		t.Fatalf("a tag that is not in the registry was committed")
	}
	push("1.2.4")
	testenv.Eventually(t, "the commit", func() bool { return s.repo.Head(t, "main") != s.seed })
	if got := s.repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.4\n") {
		t.Fatalf("apps/app.yaml after the commit:\n%s", got)
	}
	if !strings.Contains(s.logs.String(), digest) {
		t.Errorf("the registry's digest %s of the pushed tag is not logged", digest)
	}
	if strings.Contains(s.logs.String(), password) {
		t.Errorf("the registry password is in the log")
	}
}
