package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// firstRelease is what the deploy files name before CHANGELOG.md has a release section.
const firstRelease = "0.1.0"

// releasedVersion is the newest "## vX.Y.Z" heading of a CHANGELOG (newest first), without
// its v; firstRelease when there is none yet.
func releasedVersion(changelog []byte) string {
	m := regexp.MustCompile(`(?m)^## v(\d+\.\d+\.\d+)(?: |$)`).FindSubmatch(changelog)
	if m == nil {
		return firstRelease
	}
	return string(m[1])
}

// selfUpdateFilter is the filter under which hoist updates its own image: the released
// version's minor version, semver:^0.1 for 0.1.0 (0.1.x), semver:^1.2 for 1.2.0 (1.x from 1.2).
func selfUpdateFilter(version string) string {
	major, rest, _ := strings.Cut(version, ".")
	minor, _, _ := strings.Cut(rest, ".")
	return "semver:^" + major + "." + minor
}

// imageRepository is the image `make image` tags (the Makefile's IMAGE).
func imageRepository(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^IMAGE +\?= (\S+)$`).FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("Makefile has no IMAGE ?= line")
	}
	return string(m[1]), nil
}

// releaseDisagreements lists every place under root that names the released version (the
// newest release section of CHANGELOG.md) and does not agree with it: the chart's version and
// appVersion, its default image, the kustomize base's images and self-update filters, the Flux
// example's chart tag, image and filter, and the install line of docs/operations.md. What
// `make release` writes is exactly this list.
func releaseDisagreements(root string) ([]string, error) {
	read := func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(root, rel)) }
	changelog, err := read("CHANGELOG.md")
	if err != nil {
		return nil, err
	}
	v := releasedVersion(changelog)
	repo, err := imageRepository(root)
	if err != nil {
		return nil, err
	}
	image, filter := repo+":"+v, selfUpdateFilter(v)
	var bad []string
	want := func(place, got, want string) {
		if got != want {
			bad = append(bad, fmt.Sprintf("%s is %q, want %q (release %s)", place, got, want, v))
		}
	}

	data, err := read("deploy/chart/Chart.yaml")
	if err != nil {
		return nil, err
	}
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	want("Chart.yaml version", chart.Version, v)
	want("Chart.yaml appVersion", chart.AppVersion, v)

	if data, err = read("deploy/chart/values.yaml"); err != nil {
		return nil, err
	}
	var values struct {
		Image struct{ Repository, Tag string } `json:"image"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	want("chart values image", values.Image.Repository+":"+values.Image.Tag, image)

	for _, stage := range []string{"ingest", "match", "commit"} {
		rel := "deploy/kustomize/" + stage + ".yaml"
		if data, err = read(rel); err != nil {
			return nil, err
		}
		objs, err := DecodeAll(rel, data)
		if err != nil {
			return nil, err
		}
		deps := Set(objs).Deployments()
		if len(deps) != 1 {
			return nil, fmt.Errorf("%s: %d Deployments, want 1", rel, len(deps))
		}
		for _, d := range deps {
			want(rel+" container hoist image", containerImage(d, "hoist"), image)
			want(rel+" filter.fluxcd.io/hoist", d.Annotations["filter.fluxcd.io/hoist"], filter)
		}
	}

	rel := "deploy/flux/hoist-helmrelease.yaml"
	if data, err = read(rel); err != nil {
		return nil, err
	}
	objs, err := DecodeAll(rel, data)
	if err != nil {
		return nil, err
	}
	var gitRepos, releases int
	for _, o := range objs {
		switch x := o.Value.(type) {
		case *sourcev1.GitRepository:
			gitRepos++
			tag := ""
			if x.Spec.Reference != nil {
				tag = x.Spec.Reference.Tag
			}
			want(rel+" GitRepository ref.tag", tag, "v"+v)
		case *helmv2.HelmRelease:
			releases++
			img, _ := x.GetValues()["image"].(map[string]any)
			r, _ := img["repository"].(string)
			tag, _ := img["tag"].(string)
			want(rel+" HelmRelease values image", r+":"+tag, image)
			want(rel+" filter.fluxcd.io/chart-image", x.Annotations["filter.fluxcd.io/chart-image"], filter)
		}
	}
	if gitRepos != 1 || releases != 1 {
		return nil, fmt.Errorf("%s: %d GitRepositories and %d HelmReleases, want one of each", rel, gitRepos, releases)
	}

	if data, err = read("docs/operations.md"); err != nil {
		return nil, err
	}
	clones := regexp.MustCompile(`(?m)^git clone --branch (\S+) https://github\.com/hoist-gitops/hoist `).FindAllSubmatch(data, -1)
	if len(clones) != 1 {
		return nil, fmt.Errorf("docs/operations.md: %d `git clone --branch` install lines, want 1", len(clones))
	}
	want("docs/operations.md git clone --branch", string(clones[0][1]), "v"+v)
	return bad, nil
}

func containerImage(d *appsv1.Deployment, name string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c.Image
		}
	}
	return ""
}

// TestReleaseVersionsAgree (issue 15 item 10): the repository names one released version, the
// newest release section of CHANGELOG.md, everywhere a user installs from: the chart's version and
// appVersion and default image, the kustomize base, the Flux example and the install docs.
func TestReleaseVersionsAgree(t *testing.T) {
	bad, err := releaseDisagreements(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b + " (make release VERSION=vX.Y.Z writes them all)")
	}
}

// TestReleasedVersion: the newest release heading wins; "Unreleased" and the intro are not
// releases.
func TestReleasedVersion(t *testing.T) {
	for _, tc := range []struct{ changelog, want string }{
		{"# Changelog\n\n## Unreleased\n\n- a\n", firstRelease},
		{"# Changelog\n\n## Unreleased\n\n## v0.3.1 - 2027-01-02\n\n- a\n\n## v0.3.0 - 2027-01-01\n", "0.3.1"},
		{"# Changelog\n\nsee ## v9.9.9\n\n## v1.10.0\n", "1.10.0"},
	} {
		if got := releasedVersion([]byte(tc.changelog)); got != tc.want {
			t.Errorf("releasedVersion(%q) = %q, want %q", tc.changelog, got, tc.want)
		}
	}
}

// TestChartImageDefaultsToAppVersion: with no image.tag the chart runs its appVersion's image,
// and its version label says so.
func TestChartImageDefaultsToAppVersion(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	s := helmTemplate(t, "--set", "image.repository=registry.example.com/hoist", "--set-string", "image.tag=")
	deps := s.Deployments()
	if len(deps) == 0 {
		t.Fatal("the chart renders no Deployment")
	}
	for c, d := range deps {
		if got, want := d.Spec.Template.Spec.Containers[0].Image, "registry.example.com/hoist:"+chart.AppVersion; got != want {
			t.Errorf("%s runs %s with an empty image.tag, want %s", c, got, want)
		}
		if got := d.Labels["app.kubernetes.io/version"]; got != chart.AppVersion {
			t.Errorf("%s label app.kubernetes.io/version %q, want appVersion %q", c, got, chart.AppVersion)
		}
	}
}
