package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeEnv is the environment for a make of the repository's Makefile in a test: nothing of the
// caller's make (MAKEFLAGS carries command-line variables such as VERSION=) and none of the
// variables the Makefile takes from the environment, and git does not look above dir.
func makeEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VERSION", "COMMIT", "IMAGE", "IMAGE_TAG":
			continue
		}
		env = append(env, kv)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return append(env, "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
}

// makeCmd is make with the given arguments in dir, in makeEnv.
func makeCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = dir
	cmd.Env = makeEnv(dir)
	return cmd
}

// makeIn runs make with the given arguments in dir and returns its output.
func makeIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := makeCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// copyFile copies the repository's file rel to the same path under dir.
func copyFile(t *testing.T, dir, rel string) {
	t.Helper()
	info, err := os.Stat(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	data := mustRead(t, filepath.Join(repoRoot, rel))
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(data), info.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

// TestMakeVersionFromGitTag (issue 15 item 10): `make build` and `make image` take the version
// from the git tag: v1.2.3 on a tagged commit, v1.2.3-N-g<hash> after it, -dirty with uncommitted
// changes, the commit hash with no tag, "dev" outside git; the image is tagged with the version
// without its v and gets the version and the commit as build arguments (no .git in Docker).
func TestMakeVersionFromGitTag(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, dir, "Makefile")
	version := func() map[string]string {
		t.Helper()
		vars := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(makeIn(t, dir, "-s", "version")), "\n") {
			k, v, _ := strings.Cut(line, "=")
			vars[k] = v
		}
		return vars
	}
	check := func(when, wantVersion, wantCommit, wantImage string) {
		t.Helper()
		got := version()
		if got["VERSION"] != wantVersion || got["COMMIT"] != wantCommit || got["IMAGE"] != wantImage {
			t.Errorf("%s: make version = %v, want VERSION=%s COMMIT=%s IMAGE=%s", when, got, wantVersion, wantCommit, wantImage)
		}
	}

	check("outside git", "dev", "", "ghcr.io/hoist-gitops/hoist:dev")

	gitRun(t, dir, "init", "-q", "-b", "main")
	gitRun(t, dir, "add", "Makefile")
	gitRun(t, dir, "commit", "-q", "-m", "first")
	head := gitRun(t, dir, "rev-parse", "HEAD")
	short := gitRun(t, dir, "rev-parse", "--short", "HEAD")
	check("no tag", short, head, "ghcr.io/hoist-gitops/hoist:"+short)

	gitRun(t, dir, "tag", "-a", "v1.2.3", "-m", "hoist v1.2.3")
	gitRun(t, dir, "tag", "nightly") // not a version: ignored
	check("tagged", "v1.2.3", head, "ghcr.io/hoist-gitops/hoist:1.2.3")

	build := makeIn(t, dir, "-n", "build")
	if !strings.Contains(build, "-X main.version=v1.2.3 -X main.commit="+head) {
		t.Errorf("make -n build does not stamp version v1.2.3 and commit %s:\n%s", head, build)
	}
	image := makeIn(t, dir, "-n", "image")
	for _, want := range []string{"--build-arg VERSION=v1.2.3", "--build-arg REVISION=" + head, "-t ghcr.io/hoist-gitops/hoist:1.2.3 ."} {
		if !strings.Contains(image, want) {
			t.Errorf("make -n image lacks %q:\n%s", want, image)
		}
	}
	if got := makeIn(t, dir, "-s", "version", "IMAGE=registry.example.com/hoist"); !strings.Contains(got, "IMAGE=registry.example.com/hoist:1.2.3\n") {
		t.Errorf("make version IMAGE=registry.example.com/hoist:\n%s", got)
	}

	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte("# changed\n"+mustRead(t, filepath.Join(dir, "Makefile"))), 0o644); err != nil {
		t.Fatal(err)
	}
	check("uncommitted change", "v1.2.3-dirty", head, "ghcr.io/hoist-gitops/hoist:1.2.3-dirty")

	gitRun(t, dir, "commit", "-q", "-am", "second")
	head = gitRun(t, dir, "rev-parse", "HEAD")
	short = gitRun(t, dir, "rev-parse", "--short", "HEAD")
	check("a commit after the tag", "v1.2.3-1-g"+short, head, "ghcr.io/hoist-gitops/hoist:1.2.3-1-g"+short)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestMakeBuildStampsVersion (issue 15 item 10): the binary `make build` writes (the one the
// other deploy tests run, and the one in the image) says the version and commit it was given.
func TestMakeBuildStampsVersion(t *testing.T) {
	out, err := exec.Command(hoist(t), "version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("hoist version: %v", err)
	}
	var b struct{ Version, Commit, Go string }
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("hoist version --output json: %v\n%s", err, out)
	}
	if b.Version != testBuildVersion || b.Commit != testBuildCommit || !strings.HasPrefix(b.Go, "go1.") {
		t.Errorf("hoist version = %+v, want version %s, commit %s", b, testBuildVersion, testBuildCommit)
	}
}

// releaseFiles are the files `make release` reads and writes, and the ones it runs.
var releaseFiles = []string{
	"Makefile", "scripts/release.sh", "CHANGELOG.md", "docs/operations.md",
	"deploy/chart/Chart.yaml", "deploy/chart/values.yaml", "deploy/flux/hoist-helmrelease.yaml",
	"deploy/kustomize/ingest.yaml", "deploy/kustomize/match.yaml", "deploy/kustomize/commit.yaml",
}

// snapshot reads every release file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range releaseFiles {
		m[f] = mustRead(t, filepath.Join(dir, f))
	}
	return m
}

// makeFails runs make in dir, expects it to fail with a message containing want, and
// expects no release file to have changed.
func makeFails(t *testing.T, dir, want string, args ...string) {
	t.Helper()
	before := snapshot(t, dir)
	out, err := makeCmd(dir, args...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("make %v: %v, want a failure saying %q:\n%s", args, err, want, out)
	}
	for f, data := range snapshot(t, dir) {
		if data != before[f] {
			t.Errorf("make %v failed but changed %s", args, f)
		}
	}
}

// TestMakeRelease (issue 15 item 10): `make release VERSION=vX.Y.Z` turns the Unreleased section
// of CHANGELOG.md into the release's and writes the version everywhere TestReleaseVersionsAgree
// checks; a wrong version, an empty Unreleased section, a file whose shape it does not know or
// an existing tag is a clear error that changes no file.
func TestMakeRelease(t *testing.T) {
	dir := t.TempDir()
	for _, f := range releaseFiles {
		copyFile(t, dir, f)
	}
	agree := func(version string) {
		t.Helper()
		if got := releasedVersion([]byte(mustRead(t, filepath.Join(dir, "CHANGELOG.md")))); got != version {
			t.Errorf("CHANGELOG.md's newest release is %s, want %s", got, version)
		}
		bad, err := releaseDisagreements(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Error(b)
		}
	}

	makeFails(t, dir, "usage: make release VERSION=vX.Y.Z", "release")
	makeFails(t, dir, "0.2.0 is not vMAJOR.MINOR.PATCH", "release", "VERSION=0.2.0")
	makeFails(t, dir, "is not vMAJOR.MINOR.PATCH", "release", "VERSION=v0.2.0-rc.1")
	makeFails(t, dir, "v0.0.9 is older than the current release 0.1.0", "release", "VERSION=v0.0.9")

	// The first release: the deploy files already name it; CHANGELOG.md gets its section.
	unreleased := strings.SplitN(strings.SplitN(mustRead(t, filepath.Join(dir, "CHANGELOG.md")), "\n## Unreleased\n", 2)[1], "\n## ", 2)[0]
	out := makeIn(t, dir, "release", "VERSION=v0.1.0")
	if !strings.Contains(out, "git tag -a v0.1.0") {
		t.Errorf("make release does not say how to tag:\n%s", out)
	}
	agree("0.1.0")
	changelog := mustRead(t, filepath.Join(dir, "CHANGELOG.md"))
	if !strings.Contains(changelog, "\n## Unreleased\n\n## v0.1.0 - ") || !strings.Contains(changelog, unreleased) {
		t.Errorf("CHANGELOG.md after make release VERSION=v0.1.0 lost the Unreleased entries or has no v0.1.0 section under an empty Unreleased:\n%.600s", changelog)
	}

	makeFails(t, dir, "Unreleased section is empty", "release", "VERSION=v0.2.0")

	entry := "\n## Unreleased\n\n### Fixed\n- something.\n"
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(strings.Replace(changelog, "\n## Unreleased\n", entry, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	match := filepath.Join(dir, "deploy/kustomize/match.yaml")
	good := mustRead(t, match)
	if err := os.WriteFile(match, []byte(good+"# image: ghcr.io/hoist-gitops/hoist:0.1.0\n          image: ghcr.io/hoist-gitops/hoist:0.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	makeFails(t, dir, "deploy/kustomize/match.yaml: 2 lines match", "release", "VERSION=v0.2.0")
	if err := os.WriteFile(match, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}

	makeIn(t, dir, "release", "VERSION=v0.2.0")
	agree("0.2.0")
	if got := mustRead(t, filepath.Join(dir, "CHANGELOG.md")); !strings.Contains(got, "\n## v0.2.0 - ") || !strings.Contains(got, "- something.\n") {
		t.Errorf("CHANGELOG.md after make release VERSION=v0.2.0:\n%.600s", got)
	}

	gitRun(t, dir, "init", "-q", "-b", "main")
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-q", "-m", "Release v0.2.0")
	gitRun(t, dir, "tag", "-a", "v0.2.0", "-m", "hoist v0.2.0")
	makeFails(t, dir, "tag v0.2.0 exists already", "release", "VERSION=v0.2.0")
	if got := makeIn(t, dir, "-s", "version"); !strings.Contains(got, "VERSION=v0.2.0\n") || !strings.Contains(got, "IMAGE=ghcr.io/hoist-gitops/hoist:0.2.0\n") {
		t.Errorf("make version on the release commit:\n%s", got)
	}
}
