package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var hoistBin struct {
	once sync.Once
	path string
	err  error
}

// TestMain removes the hoist binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if hoistBin.path != "" {
		os.RemoveAll(filepath.Dir(hoistBin.path))
	}
	os.Exit(code)
}

// The version and commit the deploy tests' hoist is built with.
const (
	testBuildVersion = "v0.0.0-deploytest"
	testBuildCommit  = "0123456789abcdef0123456789abcdef01234567"
)

// hoist builds ../cmd/hoist once with `make build`, as CI and the image do (the deploy module
// cannot import the main module's packages, but it can run its command), and returns the
// binary's path.
func hoist(t *testing.T) string {
	t.Helper()
	hoistBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "hoist-deploy-test")
		if err != nil {
			hoistBin.err = err
			return
		}
		hoistBin.path = filepath.Join(dir, "hoist")
		cmd := makeCmd(repoRoot, "build", "BIN="+hoistBin.path, "VERSION="+testBuildVersion, "COMMIT="+testBuildCommit)
		if out, err := cmd.CombinedOutput(); err != nil {
			hoistBin.err = errors.New("make build: " + err.Error() + "\n" + string(out))
		}
	})
	if hoistBin.err != nil {
		t.Fatal(hoistBin.err)
	}
	return hoistBin.path
}

// requireCommand fails the test when the built hoist has no such subcommand
// (every command the deploy files run exists: one missing is a regression).
func requireCommand(t *testing.T, bin, name string) {
	t.Helper()
	var usage bytes.Buffer
	cmd := exec.Command(bin, "help")
	cmd.Stdout, cmd.Stderr = &usage, &usage
	_ = cmd.Run()
	for _, line := range strings.Split(usage.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return
		}
	}
	t.Fatalf("hoist has no %q command:\n%s", name, usage.String())
}

// TestHoistConfigCheck runs the whole `hoist config check` (every section) on each
// shipped rendering's hoist.yaml, with what the three stages' pods together are given:
// the union of their environments and mounted files.
func TestHoistConfigCheck(t *testing.T) {
	bin := hoist(t)
	requireCommand(t, bin, "config")
	for name, s := range renderings(t) {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			var p *podFiles
			var env []string
			var mounts []corev1.VolumeMount
			for _, stage := range Components {
				spec, c := stageContainer(t, s, stage)
				p = layOutAt(t, root, s, spec, c, fakeSecrets)
				env = append(env, p.env...)
				mounts = append(mounts, c.VolumeMounts...)
			}
			p.c.VolumeMounts = mounts // paths on any stage's mounts are rewritten
			cfg := p.hoistConfig(t, nil)
			cmd := exec.Command(bin, "config", "check", "--config", cfg)
			cmd.Env = env
			cmd.Dir = p.workDir(t)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("hoist config check %s: %v\n%s", name, err, out)
			}
			// And it is a real check: without the NATS user's variable it must refuse.
			cmd = exec.Command(bin, "config", "check", "--config", cfg)
			cmd.Env = withoutEnv(env, "HOIST_NATS_USER")
			cmd.Dir = p.workDir(t)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "HOIST_NATS_USER") {
				t.Fatalf("hoist config check %s without HOIST_NATS_USER: err %v\n%s", name, err, out)
			}
		})
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !containsString(names, k) {
			out = append(out, kv)
		}
	}
	return out
}

// imageRow is the part of `hoist images --output json` this test reads.
type imageRow struct {
	File      string   `json:"file"`
	Line      int      `json:"line"`
	Resource  string   `json:"resource"`
	Container string   `json:"container"`
	Image     string   `json:"image"`
	Filter    string   `json:"filter"`
	Automated bool     `json:"automated"`
	Locked    bool     `json:"locked"`
	Problems  []string `json:"problems"`
}

// TestHoistImagesFindsOwnImages runs `hoist images deploy/` and expects hoist's own
// image in the three kustomize Deployments and in the Flux HelmRelease of the chart,
// each at the released version, automated within its minor version (semver ^0.1 for 0.1.0)
// and without problems.
func TestHoistImagesFindsOwnImages(t *testing.T) {
	changelog, err := os.ReadFile(filepath.Join(repoRoot, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	released := releasedVersion(changelog)
	wantImage, wantFilter := "ghcr.io/hoist-gitops/hoist:"+released, selfUpdateFilter(released)
	bin := hoist(t)
	requireCommand(t, bin, "images")
	cmd := exec.Command(bin, "images", "--output", "json", "deploy")
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var rows []imageRow
	if jerr := json.Unmarshal(stdout.Bytes(), &rows); jerr != nil {
		t.Fatalf("hoist images --output json deploy: %v (exit %v)\n%s\n%s", jerr, err, stdout.String(), stderr.String())
	}
	want := map[string]string{
		"deploy/kustomize/ingest.yaml|hoist":             "hoist",
		"deploy/kustomize/match.yaml|hoist":              "hoist",
		"deploy/kustomize/commit.yaml|hoist":             "hoist",
		"deploy/flux/hoist-helmrelease.yaml|chart-image": "chart-image",
	}
	for _, r := range rows {
		key := filepath.ToSlash(r.File) + "|" + r.Container
		if _, ok := want[key]; !ok {
			continue
		}
		delete(want, key)
		if r.Image != wantImage {
			t.Errorf("%s: image %q, want %s", key, r.Image, wantImage)
		}
		if !r.Automated || r.Locked || r.Filter != wantFilter || len(r.Problems) > 0 {
			t.Errorf("%s: automated %v locked %v filter %q problems %q; want automated, %s, no problems", key, r.Automated, r.Locked, r.Filter, r.Problems, wantFilter)
		}
	}
	for key := range want {
		t.Errorf("hoist images deploy did not list %s\n%s", key, stdout.String())
	}
}
