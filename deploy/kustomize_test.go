package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var kustomizeDir = filepath.Join(repoRoot, "deploy", "kustomize")

// TestKustomizeFilesDecodeStrictly decodes every YAML file under deploy/kustomize into
// its API type, unknown fields being errors. hoist.yaml is hoist's config and
// nats/values.yaml the NATS chart's values, not Kubernetes objects: TestHoistConfigCheck
// and the NATS tests (which render the chart with them) validate those.
func TestKustomizeFilesDecodeStrictly(t *testing.T) {
	n := 0
	err := filepath.WalkDir(kustomizeDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(path) || filepath.Base(path) == "hoist.yaml" || filepath.Base(path) == "values.yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		objs, err := DecodeAll(path, data)
		if err != nil {
			t.Error(err)
		}
		if len(objs) == 0 && err == nil {
			t.Errorf("%s: no documents", path)
		}
		n += len(objs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("decoded %d documents under %s; the base has more", n, kustomizeDir)
	}
}

func isYAML(path string) bool {
	ext := filepath.Ext(path)
	return ext == ".yaml" || ext == ".yml"
}

// buildKustomize runs kustomize (as a library) on dir of fSys and decodes the result.
func buildKustomize(t *testing.T, fSys filesys.FileSystem, dir string) Set {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll("kustomize build "+dir, out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestKustomizeBuild builds the base exactly as `kubectl apply -k` would and checks the
// result: hoist's services, the NATS HelmRelease, and the namespace everything lands in.
func TestKustomizeBuild(t *testing.T) {
	abs, err := filepath.Abs(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	s := buildKustomize(t, filesys.MakeFsOnDisk(), abs)
	if err := CheckHoist(s); err != nil {
		t.Fatal(err)
	}
	for _, o := range s {
		if o.Kind != "Namespace" && o.Meta.Namespace != "hoist" {
			t.Errorf("%s is in namespace %q, want hoist", o.ID(), o.Meta.Namespace)
		}
	}
	// The generated ConfigMap carries a content hash, and the Deployments follow it.
	cfgs := s.HoistConfigs()
	if len(cfgs) != 1 {
		t.Fatalf("hoist.yaml ConfigMaps: %v, want 1", cfgs)
	}
	for name := range cfgs {
		if !strings.HasPrefix(name, "hoist-config-") {
			t.Errorf("ConfigMap %s: want the generated hoist-config-<hash>", name)
		}
	}
	checkNATS(t, s, cfgs)
}

// checkNATS checks the NATS HelmRelease: the official chart from the official
// repository, a 3-node cluster with JetStream on persistent file storage, and a
// Service name that matches hoist's nats.url.
func checkNATS(t *testing.T, s Set, cfgs map[string]string) {
	t.Helper()
	repos := map[string]*sourcev1.HelmRepository{}
	for _, o := range s.Find("HelmRepository") {
		r := o.Value.(*sourcev1.HelmRepository)
		repos[r.Name] = r
	}
	var hr *helmv2.HelmRelease
	for _, o := range s.Find("HelmRelease") {
		if r := o.Value.(*helmv2.HelmRelease); r.Spec.Chart != nil && r.Spec.Chart.Spec.Chart == "nats" {
			hr = r
		}
	}
	if hr == nil {
		t.Fatal("no HelmRelease of the nats chart")
	}
	ref := hr.Spec.Chart.Spec.SourceRef
	repo := repos[ref.Name]
	if ref.Kind != sourcev1.HelmRepositoryKind || repo == nil {
		t.Fatalf("HelmRelease/%s: sourceRef %s/%s is not a HelmRepository in the base", hr.Name, ref.Kind, ref.Name)
	}
	if repo.Spec.URL != "https://nats-io.github.io/k8s/helm/charts/" {
		t.Errorf("HelmRepository/%s url %q is not the official NATS chart repository", repo.Name, repo.Spec.URL)
	}
	values := natsValues(t, s, hr)
	for path, want := range map[string]any{
		"config.cluster.enabled":                 true,
		"config.cluster.replicas":                float64(3),
		"config.jetstream.enabled":               true,
		"config.jetstream.fileStore.enabled":     true,
		"config.jetstream.fileStore.pvc.enabled": true,
	} {
		if got := lookup(values, path); got != want {
			t.Errorf("HelmRelease/%s values %s = %v, want %v", hr.Name, path, got, want)
		}
	}
	// The chart names its client Service after the release; hoist must dial that.
	svc := hr.Spec.ReleaseName
	if svc == "" {
		svc = hr.Name
	}
	for name, y := range cfgs {
		var cfg struct {
			NATS struct {
				URL string `json:"url"`
			} `json:"nats"`
		}
		if err := yaml.Unmarshal([]byte(y), &cfg); err != nil {
			t.Fatalf("ConfigMap %s hoist.yaml: %v", name, err)
		}
		if want := "nats://" + svc + ":4222"; cfg.NATS.URL != want {
			t.Errorf("ConfigMap %s: nats.url %q, want %q (the NATS chart's Service)", name, cfg.NATS.URL, want)
		}
	}
}

// lookup follows a dot path through nested maps.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// TestKustomizeServiceMonitorComponent builds an overlay that adds the optional
// ServiceMonitor component, as a Prometheus Operator user would, and checks that the
// ServiceMonitor selects all three services' Services on their `http` port.
func TestKustomizeServiceMonitorComponent(t *testing.T) {
	s := overlay(t, "servicemonitor")
	if err := CheckHoist(s); err != nil {
		t.Fatal(err)
	}
	checkServiceMonitor(t, s)
}

// checkServiceMonitor checks that one ServiceMonitor scrapes /metrics on the `http`
// port of the Services of all three components.
func checkServiceMonitor(t *testing.T, s Set) {
	t.Helper()
	sms := s.Find("ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	sm := sms[0].Value.(*monitoringv1.ServiceMonitor)
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor/%s: %d endpoints, want 1", sm.Name, len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	selected := map[string]bool{}
	for _, o := range s.Find("Service") {
		svc := o.Value.(*corev1.Service)
		if !subset(sm.Spec.Selector.MatchLabels, svc.Labels) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == ep.Port {
				selected[svc.Spec.Selector[ComponentLabel]] = true
			}
		}
	}
	for _, c := range Components {
		if !selected[c] {
			t.Errorf("the ServiceMonitor does not scrape a Service of %s", c)
		}
	}
	if ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor path %q, want /metrics", ep.Path)
	}
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// overlay builds an overlay of the base with the given components, as a user would.
func overlay(t *testing.T, components ...string) Set {
	t.Helper()
	fSys := filesys.MakeFsInMemory()
	err := filepath.WalkDir(kustomizeDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(kustomizeDir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fSys.WriteFile(filepath.Join("/app/base", rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	var comps []string
	for _, c := range components {
		comps = append(comps, "../base/components/"+c)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\ncomponents: [" + strings.Join(comps, ", ") + "]\n"
	if err := fSys.WriteFile("/app/overlay/kustomization.yaml", []byte(k)); err != nil {
		t.Fatal(err)
	}
	return buildKustomize(t, fSys, "/app/overlay")
}
