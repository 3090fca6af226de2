package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join(repoRoot, "deploy", "chart")

// helmTemplate renders the chart with helm (from `make tools`) and decodes every
// document strictly.
func helmTemplate(t *testing.T, args ...string) Set {
	t.Helper()
	helm := tool(t, "helm")
	out := run(t, ".", helm, append([]string{"template", "hoist", chartDir, "--namespace", "hoist"}, args...)...)
	objs, err := DecodeAll("helm template", out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestChartLint(t *testing.T) {
	helm := tool(t, "helm")
	for _, args := range [][]string{
		nil,
		{"--set", "metrics.serviceMonitor.enabled=true", "--set", "serviceAccount.create=false"},
		{"--set", "registryAuth.secretName=hoist-registry", "--set", "nats.auth.enabled=false", "--set", "networkPolicy.enabled=false",
			"--set", "repository.url=git@git.example.com:platform/gitops.git", "--set", "repository.commit.signingKeySecretName=hoist-signing"},
		{"--set", "repository.url=", "--set", "receiver.name=", "--set", "config.repositories[0].name=a", "--set", "config.repositories[0].url=https://git.example.com/a.git",
			"--set", "config.receivers[0].name=r", "--set", "config.receivers[0].kind=harbor", "--set", "config.receivers[0].secretFile=/etc/hoist-secrets/receivers/r"},
	} {
		out := run(t, ".", helm, append([]string{"lint", "--strict", chartDir}, args...)...)
		if !strings.Contains(string(out), "0 chart(s) failed") {
			t.Fatalf("helm lint %v:\n%s", args, out)
		}
	}
}

func TestChartTemplate(t *testing.T) {
	s := helmTemplate(t)
	if err := CheckHoist(s); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Find("ServiceMonitor")); n != 0 {
		t.Errorf("%d ServiceMonitors rendered by default, want 0 (Prometheus Operator is optional)", n)
	}
	if n := len(s.Find("ServiceAccount")); n != 1 {
		t.Errorf("%d ServiceAccounts, want 1", n)
	}
}

func TestChartServiceMonitor(t *testing.T) {
	s := helmTemplate(t, "--set", "metrics.serviceMonitor.enabled=true")
	checkServiceMonitor(t, s)
}

// TestChartImageValues checks the `image: {repository, tag}` shape hoist detects in a
// HelmRelease's values: both are strings, and they are what every Deployment runs.
func TestChartImageValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Image struct {
			Repository any `json:"repository"`
			Tag        any `json:"tag"`
		} `json:"image"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	repo, ok1 := values.Image.Repository.(string)
	tag, ok2 := values.Image.Tag.(string)
	if !ok1 || !ok2 || repo == "" || tag == "" {
		t.Fatalf("values.yaml image = %#v; want string repository and tag", values.Image)
	}
	s := helmTemplate(t, "--set", "image.repository=registry.example.com/hoist", "--set-string", "image.tag=9.8.7")
	for c, d := range s.Deployments() {
		if got := d.Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/hoist:9.8.7" {
			t.Errorf("%s runs %s, want the image from values", c, got)
		}
	}
}

// TestFluxExample decodes deploy/flux strictly and renders the chart with the
// HelmRelease's own values, so the example installs what it says.
func TestFluxExample(t *testing.T) {
	dir := filepath.Join(repoRoot, "deploy", "flux")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s Set
	for _, e := range entries {
		if !isYAML(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := DecodeAll(e.Name(), data)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, objs...)
	}
	var hr *helmv2.HelmRelease
	for _, o := range s.Find("HelmRelease") {
		hr = o.Value.(*helmv2.HelmRelease)
	}
	if hr == nil || hr.Spec.Chart == nil {
		t.Fatal("no HelmRelease of the hoist chart in deploy/flux")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, hr.Spec.Chart.Spec.Chart, "Chart.yaml")); err != nil {
		t.Fatalf("HelmRelease/%s chart %s: %v", hr.Name, hr.Spec.Chart.Spec.Chart, err)
	}
	img, _ := hr.GetValues()["image"].(map[string]any)
	if _, ok := img["repository"].(string); !ok {
		t.Errorf("HelmRelease/%s values.image.repository is not a string", hr.Name)
	}
	if _, ok := img["tag"].(string); !ok {
		t.Errorf("HelmRelease/%s values.image.tag is not a string", hr.Name)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, hr.Spec.Values.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckHoist(helmTemplate(t, "--values", values)); err != nil {
		t.Fatal(err)
	}
}

// TestChartValuesSchema checks that values.schema.json turns mistakes into errors
// instead of silently ignored values: a misspelt key, and a numeric image tag (which
// hoist would not detect as a tag: an unquoted number is not a string).
func TestChartValuesSchema(t *testing.T) {
	helm := tool(t, "helm")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "ingest.replica=3"}, "additional properties 'replica' not allowed"},
		{[]string{"--set", "image.tag=7"}, "/image/tag"},
		{[]string{"--set", "metrics.serviceMonitor.enable=true"}, "additional properties 'enable' not allowed"},
	} {
		cmd := exec.Command(helm, append([]string{"template", "hoist", chartDir}, tt.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("helm template %v: err %v, want an error mentioning %q\n%s", tt.args, err, tt.want, out)
		}
	}
}
