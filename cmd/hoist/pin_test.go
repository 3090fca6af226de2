package main

import (
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// pinDeployment is a workload whose image does not pin a digest yet.
const pinDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/web: semver:~1.2
spec:
  template:
    spec:
      containers:
        - name: web
          image: 127.0.0.1:5000/team/web:1.2.3 # pinned by hoist
`

// With pinDigest, a new tag is written with the registry's digest (added to
// sites that did not pin one, a split tag: key included), and a re-push of
// the same tag with a new digest is a commit that changes the digest alone.
func TestPinDigestRepushWritesDigestOnly(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	s := startRegistryServe(t, reg, map[string]string{
		"apps/app.yaml": serveRelease,
		"apps/web.yaml": pinDeployment,
	}, "  - {match: \"**\", pinDigest: true}")

	app1 := reg.PushImage(t, "team/app", "1.2.4")
	web1 := reg.PushImage(t, "team/web", "1.2.4")
	s.hook(t, "team/app", "1.2.4", app1)
	s.hook(t, "team/web", "1.2.4", web1)
	testenv.Eventually(t, "both sites pinned", func() bool {
		return strings.Contains(s.repo.Show(t, "main", "apps/app.yaml"), "tag: 1.2.4@"+app1+"\n") &&
			strings.Contains(s.repo.Show(t, "main", "apps/web.yaml"), "image: "+reg.Host+"/team/web:1.2.4@"+web1+" # pinned by hoist\n")
	})
	before := s.repo.Head(t, "main")

	web2 := reg.PushImage(t, "team/web", "1.2.4") // the same tag, new content
	if web2 == web1 {
		t.Fatal("the re-push did not change the digest")
	}
	s.hook(t, "team/web", "1.2.4", web2)
	testenv.Eventually(t, "the digest-only commit", func() bool { return s.repo.Head(t, "main") != before })
	want := strings.Replace(pinDeployment, "127.0.0.1:5000/team/web:1.2.3", reg.Host+"/team/web:1.2.4@"+web2, 1)
	if got := s.repo.Show(t, "main", "apps/web.yaml"); got != want {
		t.Fatalf("apps/web.yaml after the re-push:\n%s\nwant:\n%s", got, want)
	}
	if diff := testgit.Git(t, s.repo.Dir, "diff", "--stat", before, "main"); !strings.Contains(diff, "apps/web.yaml") || strings.Contains(diff, "apps/app.yaml") {
		t.Fatalf("the re-push commit touched more than web.yaml:\n%s", diff)
	}
}
