package deploy

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// Components are hoist's three services, each run as `hoist <component>`.
var Components = []string{"ingest", "match", "commit"}

// ComponentLabel is the pod label that tells hoist's services apart.
const ComponentLabel = "app.kubernetes.io/component"

// StageSecrets are the Secrets each stage may read, by the part of the config they serve
// (the manifests reference them but never contain them: the operator creates them with
// kubectl create secret, sealed-secrets, external-secrets...). A stage gets only its own:
// ingest, which faces the internet, never holds git credentials or another stage's NATS
// password. nats-tls is the NATS servers' certificate Secret, of which only ca.crt is mounted.
var StageSecrets = map[string][]string{
	"ingest": {"hoist-nats-ingest", "nats-tls", "hoist-receivers"},
	"match":  {"hoist-nats-match", "nats-tls", "hoist-git", "hoist-registry"},
	"commit": {"hoist-nats-commit", "nats-tls", "hoist-git", "hoist-signing"},
}

// ConfigPath is where every service reads hoist.yaml.
const ConfigPath = "/etc/hoist/hoist.yaml"

// Set is a decoded set of manifests, as applied to one namespace.
type Set []Object

// Deployments returns the Deployments by their component label.
func (s Set) Deployments() map[string]*appsv1.Deployment {
	out := map[string]*appsv1.Deployment{}
	for _, o := range s {
		if d, ok := o.Value.(*appsv1.Deployment); ok {
			out[d.Spec.Template.Labels[ComponentLabel]] = d
		}
	}
	return out
}

// Find returns the objects of one kind.
func (s Set) Find(kind string) []Object {
	var out []Object
	for _, o := range s {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// CheckHoist checks what every rendering of hoist (kustomize base, Helm chart) must
// satisfy: the three services with probes, limits and a locked-down security context,
// a Service and PodDisruptionBudget for ingest, selectors that select, references that
// resolve, and secrets referenced but never embedded. It returns every violation.
func CheckHoist(s Set) error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	deps := s.Deployments()
	for _, c := range Components {
		d, ok := deps[c]
		if !ok {
			fail("no Deployment with %s=%s", ComponentLabel, c)
			continue
		}
		if err := checkDeployment(s, c, d); err != nil {
			errs = append(errs, fmt.Errorf("deployment %s: %w", d.Name, err))
		}
	}
	if d, ok := deps["ingest"]; ok && replicas(d) < 2 {
		fail("Deployment/%s: ingest must run at least 2 replicas, has %d", d.Name, replicas(d))
	}
	if len(s.Find("Secret")) > 0 {
		fail("a Secret is embedded in the manifests; reference the operator's Secrets instead")
	}

	// Every Service selects the pods of exactly one Deployment, on a named container port.
	ingestServed := false
	for _, o := range s.Find("Service") {
		svc := o.Value.(*corev1.Service)
		matched := matchingDeployments(deps, svc.Spec.Selector)
		if len(matched) != 1 {
			fail("Service/%s selects %d Deployments, want 1", svc.Name, len(matched))
			continue
		}
		for _, p := range svc.Spec.Ports {
			if !hasContainerPort(matched[0], p.TargetPort.String()) {
				fail("Service/%s port %s targets %q, not a container port of Deployment/%s", svc.Name, p.Name, p.TargetPort.String(), matched[0].Name)
			}
		}
		if matched[0] == deps["ingest"] {
			ingestServed = true
		}
	}
	if !ingestServed {
		fail("no Service in front of the ingest Deployment")
	}

	// PodDisruptionBudgets select one Deployment and leave room to evict a pod.
	ingestBudget := false
	for _, o := range s.Find("PodDisruptionBudget") {
		pdb := o.Value.(*policyv1.PodDisruptionBudget)
		sel := map[string]string{}
		if pdb.Spec.Selector != nil {
			sel = pdb.Spec.Selector.MatchLabels
		}
		matched := matchingDeployments(deps, sel)
		if len(matched) != 1 {
			fail("PodDisruptionBudget/%s selects %d Deployments, want 1", pdb.Name, len(matched))
			continue
		}
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(replicas(matched[0])) {
			fail("PodDisruptionBudget/%s: minAvailable must be set and below the %d replicas of Deployment/%s", pdb.Name, replicas(matched[0]), matched[0].Name)
		}
		if matched[0] == deps["ingest"] {
			ingestBudget = true
		}
	}
	if !ingestBudget {
		fail("no PodDisruptionBudget for the ingest Deployment")
	}
	return errors.Join(errs...)
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func matchingDeployments(deps map[string]*appsv1.Deployment, selector map[string]string) []*appsv1.Deployment {
	if len(selector) == 0 {
		return nil
	}
	var out []*appsv1.Deployment
	for _, c := range Components {
		if d, ok := deps[c]; ok && labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func hasContainerPort(d *appsv1.Deployment, port string) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
				return true
			}
		}
	}
	return false
}

// checkDeployment checks one service's Deployment.
func checkDeployment(s Set, component string, d *appsv1.Deployment) error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	spec := d.Spec.Template.Spec

	if d.Spec.Selector == nil || !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
		fail("selector does not select its own pod template")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		fail("automountServiceAccountToken must be false (hoist never calls the Kubernetes API)")
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		fail("pod securityContext.runAsNonRoot must be true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		fail("pod securityContext.seccompProfile must be RuntimeDefault")
	}
	if len(spec.Containers) != 1 {
		fail("want exactly 1 container, have %d", len(spec.Containers))
		return errors.Join(errs...)
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, "ghcr.io/hoist-gitops/hoist:") {
		fail("container image %q is not hoist's", c.Image)
	}
	if want := []string{component, "--config", ConfigPath}; !slices.Equal(c.Args, want) {
		fail("args %q, want %q", c.Args, want)
	}
	if !hasContainerPort(d, "http") {
		fail("no container port named http (webhooks, /metrics, /healthz, /readyz)")
	}
	checkProbe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			fail("%s probe must GET %s on port http", name, path)
		}
	}
	checkProbe("readiness", c.ReadinessProbe, "/readyz")
	checkProbe("liveness", c.LivenessProbe, "/healthz")
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		fail("resources.requests must set cpu and memory")
	}
	if c.Resources.Limits.Memory().IsZero() {
		fail("resources.limits must set memory")
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		fail("container securityContext missing")
	default:
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			fail("readOnlyRootFilesystem must be true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			fail("allowPrivilegeEscalation must be false")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			fail("capabilities must drop ALL and add none")
		}
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			fail("volumeMount %s has no volume", m.Name)
		}
		mounts[m.MountPath] = m.Name
	}
	wantEmptyDir := []string{"/tmp"}
	if component != "ingest" {
		wantEmptyDir = append(wantEmptyDir, "/var/lib/hoist")
	}
	for _, path := range wantEmptyDir {
		if v, ok := volumes[mounts[path]]; !ok || v.EmptyDir == nil {
			fail("%s must be an emptyDir (the root filesystem is read-only)", path)
		}
	}
	if name := configMapOf(volumes[mounts["/etc/hoist"]]); name == "" {
		fail("/etc/hoist must mount the ConfigMap holding hoist.yaml")
	} else if cm := findConfigMap(s, name); cm == nil {
		fail("ConfigMap %s is not in the manifests", name)
	} else if y, ok := cm.Data["hoist.yaml"]; !ok {
		fail("ConfigMap %s has no hoist.yaml", cm.Name)
	} else if component == "commit" {
		// The committer writes its clones under dataDir: it must be a writable volume,
		// the root filesystem being read-only.
		dir, err := configDataDir(y)
		if err != nil {
			fail("ConfigMap %s hoist.yaml: %v", cm.Name, err)
		} else if !writableMount(c, volumes, dir) {
			fail("dataDir %s (from hoist.yaml) is not on a writable emptyDir or volume claim", dir)
		}
	}

	// Secrets: referenced, never embedded, and only the stage's own documented ones.
	own := StageSecrets[component]
	for _, v := range spec.Volumes {
		var names []string
		switch {
		case v.Secret != nil:
			names = append(names, v.Secret.SecretName)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					names = append(names, src.Secret.Name)
				}
			}
		}
		for _, n := range names {
			if !slices.Contains(own, n) {
				fail("volume %s mounts Secret %q; the %s stage's Secrets are %q", v.Name, n, component, own)
			}
		}
	}
	for _, e := range c.Env {
		if e.Value != "" && looksSecret(e.Name) {
			fail("env %s holds a literal value; take it from one of the Secrets %q", e.Name, own)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !slices.Contains(own, e.ValueFrom.SecretKeyRef.Name) {
			fail("env %s reads Secret %q; the %s stage's Secrets are %q", e.Name, e.ValueFrom.SecretKeyRef.Name, component, own)
		}
	}
	return errors.Join(errs...)
}

// configMapOf names the ConfigMap a volume carries, alone or projected with others.
func configMapOf(v corev1.Volume) string {
	if v.ConfigMap != nil {
		return v.ConfigMap.Name
	}
	if v.Projected != nil {
		for _, src := range v.Projected.Sources {
			if src.ConfigMap != nil {
				return src.ConfigMap.Name
			}
		}
	}
	return ""
}

func looksSecret(name string) bool {
	n := strings.ToUpper(name)
	return strings.Contains(n, "SECRET") || strings.Contains(n, "PASSWORD") || strings.Contains(n, "TOKEN") || strings.Contains(n, "KEY")
}

func findConfigMap(s Set, name string) *corev1.ConfigMap {
	for _, o := range s.Find("ConfigMap") {
		if cm := o.Value.(*corev1.ConfigMap); cm.Name == name {
			return cm
		}
	}
	return nil
}

// HoistConfigs returns the hoist.yaml documents the manifests carry, by ConfigMap name.
func (s Set) HoistConfigs() map[string]string {
	out := map[string]string{}
	for _, o := range s.Find("ConfigMap") {
		cm := o.Value.(*corev1.ConfigMap)
		if y, ok := cm.Data["hoist.yaml"]; ok {
			out[cm.Name] = y
		}
	}
	return out
}

// ImageWorkDir is the working directory of hoist's container image (Dockerfile), against
// which relative paths in hoist.yaml resolve.
const ImageWorkDir = "/var/lib/hoist"

// configDataDir reads dataDir from a hoist.yaml (default ./data), as an absolute path.
func configDataDir(hoistYAML string) (string, error) {
	var cfg struct {
		DataDir string `json:"dataDir"`
	}
	if err := yaml.Unmarshal([]byte(hoistYAML), &cfg); err != nil {
		return "", err
	}
	dir := cfg.DataDir
	if dir == "" {
		dir = "./data"
	}
	if !path.IsAbs(dir) {
		dir = path.Join(ImageWorkDir, dir)
	}
	return path.Clean(dir), nil
}

// writableMount reports whether dir lies on a read-write emptyDir or PVC mount of c.
func writableMount(c corev1.Container, volumes map[string]corev1.Volume, dir string) bool {
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		if m.ReadOnly || (v.EmptyDir == nil && v.PersistentVolumeClaim == nil) {
			continue
		}
		mp := path.Clean(m.MountPath)
		if dir == mp || strings.HasPrefix(dir, mp+"/") {
			return true
		}
	}
	return false
}
