package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// release is a Flux v1 HelmRelease whose chart-image is image (a string),
// with the given extra annotations.
func release(name, image, annotations string) string {
	return fmt.Sprintf(`apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: %s
  namespace: e2e
  annotations:
%s
spec:
  releaseName: %s
  chart: {repository: https://charts.example.com/, name: app, version: 1.0.0}
  values:
    image: %s
`, name, annotations, name, image)
}

const automated = `    fluxcd.io/automated: "true"` + "\n"

// e2eManifests is the GitOps repository of the end-to-end test, its
// images on the registry at host.
func e2eManifests(host string) map[string]string {
	img := func(path, tag string) string { return host + "/" + path + ":" + tag }
	return map[string]string{
		// semver: the image mapping shape, split repository and tag.
		"apps/semver.yaml": fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: semver
  namespace: e2e
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/chart-image: semver:~1.0
spec:
  values:
    image:
      repository: %s/team/semver
      tag: 1.0.0 # moved by hoist
`, host),
		"apps/glob.yaml":     release("glob", img("team/glob", "main-001"), automated+`    filter.fluxcd.io/chart-image: glob:main-*`),
		"apps/regexp.yaml":   release("regexp", img("team/regexp", "build-1"), automated+`    filter.fluxcd.io/chart-image: "regexp:^build-[0-9]+$"`),
		"apps/locked.yaml":   release("locked", img("team/shared", "1.0.0"), automated+`    fluxcd.io/locked: "true"`+"\n"+`    filter.fluxcd.io/chart-image: semver:^1`),
		"apps/manual.yaml":   release("manual", img("team/shared", "1.0.0"), `    filter.fluxcd.io/chart-image: semver:^1`),
		"apps/pair-a.yaml":   release("pair-a", img("team/pair", "1.0.0"), automated+`    filter.fluxcd.io/chart-image: semver:^1`),
		"apps/pair-b.yaml":   release("pair-b", `"`+img("team/pair", "1.0.0")+`"`, automated+`    filter.fluxcd.io/chart-image: semver:^1`),
		"apps/order.yaml":    release("order", img("team/order", "v0"), automated+`    filter.fluxcd.io/chart-image: glob:v*`),
		"apps/any.yaml":      release("any", img("team/any", "a1"), automated+`    filter.fluxcd.io/chart-image: glob:*`),
		"apps/sentinel.yaml": release("sentinel", img("team/sentinel", "s0"), automated+`    filter.fluxcd.io/chart-image: glob:*`),
		"workloads/web.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: e2e
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/web: semver:^1
spec:
  template:
    spec:
      containers:
        - name: web
          image: %s/team/web:1.0.0
          ports: [{containerPort: 8080}]
`, host),
	}
}

func randomDigest() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "sha256:" + hex.EncodeToString(b)
}

// TestPipeline pushes images with crane to a real registry that notifies
// hoist serve, and checks every update decision (never older, filters, locks,
// excluded tags, batches) in the commits the git
// binary reads back.
func TestPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds hoist, runs the registry, crane and git")
	}
	addr := testenv.FreeAddr(t)
	reg := testregistry.Start(t, testregistry.Options{
		NotifyURL:     "http://" + addr + "/hooks/reg",
		NotifyHeaders: map[string]string{"Authorization": "Bearer " + e2eSecret},
		IgnoreActions: []string{"pull"},
	})
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	seed := repo.SeedFiles(t, "main", e2eManifests(reg.Host))
	// Every push is a real image, so hoist verifies each tag in the registry.
	p := startPipeline(t, pipelineConfig{repo: repo, addr: addr, window: "300ms", verify: true})

	// sentinel pushes a new tag of the sentinel image and waits for its
	// commit. The registry notifies in order and ingest answers only once a
	// push is stored, so every push made before it has reached hoist; after
	// settle, each has been matched and any rewrite committed or dropped.
	sentinels := 0
	sentinel := func() {
		t.Helper()
		sentinels++
		tag := fmt.Sprintf("s%d", sentinels)
		reg.PushImage(t, "team/sentinel", tag)
		p.waitFile("apps/sentinel.yaml", "team/sentinel:"+tag+"\n")
		p.settle()
	}
	unchanged := func(path, want string) {
		t.Helper()
		if got := p.file(path); !strings.Contains(got, want) {
			t.Errorf("%s changed; want it to still hold %q:\n%s", path, want, got)
		}
	}

	// Each filter: a matching newer tag is written; the tags after it that
	// are older or do not match change nothing.
	for _, tc := range []struct {
		name, image, file, tag, want string
		ignored                      []string
	}{
		{"semver moves to a newer tag, never older or non-matching", "team/semver", "apps/semver.yaml", "1.0.5", "tag: 1.0.5 # moved by hoist\n",
			[]string{"1.0.3" /* older */, "1.1.0" /* outside ~1.0 */, "not-a-version"}},
		{"glob", "team/glob", "apps/glob.yaml", "main-002", "team/glob:main-002\n", []string{"dev-003"}},
		{"regexp", "team/regexp", "apps/regexp.yaml", "build-2", "team/regexp:build-2\n", []string{"build-x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.PushImage(t, tc.image, tc.tag)
			p.waitFile(tc.file, tc.want)
			for _, tag := range tc.ignored {
				reg.PushImage(t, tc.image, tag)
			}
			sentinel()
			unchanged(tc.file, tc.want)
		})
	}
	t.Run("locked and not automated stay", func(t *testing.T) {
		reg.PushImage(t, "team/shared", "1.5.0")
		sentinel()
		unchanged("apps/locked.yaml", "team/shared:1.0.0\n")
		unchanged("apps/manual.yaml", "team/shared:1.0.0\n")
	})
	t.Run("two releases of one image in one commit", func(t *testing.T) {
		before := p.commits()
		reg.PushImage(t, "team/pair", "1.1.0")
		p.waitFor("both releases at 1.1.0", func() bool {
			return strings.Contains(p.file("apps/pair-a.yaml"), "team/pair:1.1.0\n") &&
				strings.Contains(p.file("apps/pair-b.yaml"), `"`+reg.Host+"/team/pair:1.1.0\"\n")
		})
		if got := p.commits(); got != before+1 {
			t.Errorf("%d commits for one push of two releases, want 1", got-before)
		}
		files := testgit.Lines(testgit.Git(t, repo.Dir, "show", "--name-only", "--format=", "main"))
		if strings.Join(files, " ") != "apps/pair-a.yaml apps/pair-b.yaml" {
			t.Errorf("last commit changed %v, want both pair files", files)
		}
	})
	t.Run("a Deployment", func(t *testing.T) {
		reg.PushImage(t, "team/web", "1.2.0")
		p.waitFile("workloads/web.yaml", "image: "+reg.Host+"/team/web:1.2.0\n")
	})
	t.Run("a delayed older push does not undo a newer one", func(t *testing.T) {
		reg.PushImage(t, "team/order", "v1")
		p.waitFile("apps/order.yaml", "team/order:v1\n")
		reg.PushImage(t, "team/order", "v2")
		p.waitFile("apps/order.yaml", "team/order:v2\n")
		// v1 again, as a registry's late retry: pushed before v2, arriving after.
		p.postGeneric(reg.Host+"/team/order:v1", randomDigest(), time.Now().Add(-time.Hour))
		// and a v0 nobody has seen, pushed long ago, delivered only now.
		p.postGeneric(reg.Host+"/team/order:v0a", randomDigest(), time.Now().Add(-2*time.Hour))
		sentinel()
		unchanged("apps/order.yaml", "team/order:v2\n")
	})
	t.Run("latest and cosign signature tags change nothing", func(t *testing.T) {
		digest := reg.PushImage(t, "team/any", "a2")
		p.waitFile("apps/any.yaml", "team/any:a2\n")
		reg.PushImage(t, "team/any", "latest")
		reg.PushImage(t, "team/any", strings.Replace(digest, "sha256:", "sha256-", 1)+".sig")
		sentinel()
		unchanged("apps/any.yaml", "team/any:a2\n")
	})

	// History: linear, every commit hoist's, and every byte outside the
	// changed scalars as it was (the diff of the whole run is only tags).
	if out := testgit.Git(t, repo.Dir, "rev-list", "--merges", "main"); strings.TrimSpace(out) != "" {
		t.Errorf("merge commits in history: %s", out)
	}
	authors := testgit.Lines(testgit.Git(t, repo.Dir, "log", "--format=%an <%ae>", seed+"..main"))
	for _, a := range authors {
		if a != "hoist <hoist@localhost>" {
			t.Errorf("commit by %q", a)
		}
	}
	diff := testgit.Git(t, repo.Dir, "diff", "-U0", seed, "main")
	for _, line := range strings.Split(diff, "\n") {
		if (strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-")) && !strings.HasPrefix(line, "+++") && !strings.HasPrefix(line, "---") {
			if !strings.Contains(line, "image: ") && !strings.Contains(line, "tag: ") {
				t.Errorf("a line other than an image or tag changed: %q", line)
			}
		}
	}
	repo.Fsck(t)
	if code := p.proc.Stop(); code != 0 {
		t.Errorf("hoist serve exited %d on SIGTERM, want 0", code)
	}
	if !strings.Contains(testenv.TailFile(p.proc.log, 5), "hoist serve stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", testenv.TailFile(p.proc.log, 5))
	}
}
