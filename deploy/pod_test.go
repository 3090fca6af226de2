package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// fakeSecrets stands in for the Secrets the docs tell operators to create: what a
// container sees of a Secret (as env or files) comes from here, and a reference to a
// Secret or key missing here is a reference the docs do not cover. The chart's defaults
// use the same names.
var fakeSecrets = map[string]map[string]string{
	"hoist-receivers":   {"registry": "receiver-secret"},
	"hoist-git":         {"password": "git-token", "ssh-key": "fake ssh key", "known_hosts": "git.example.com ssh-ed25519 AAAA"},
	"hoist-signing":     {"signing-key": "fake signing key"},
	"hoist-nats-ingest": {"password": "nats-ingest-password"},
	"hoist-nats-match":  {"password": "nats-match-password"},
	"hoist-nats-commit": {"password": "nats-commit-password"},
}

// podFiles is one container of a rendered workload laid out on this machine: its
// environment exactly as Kubernetes would set it, and its volumes written under root
// (a mount at /etc/hoist is root/etc/hoist).
type podFiles struct {
	root string
	env  []string
	c    corev1.Container
}

// layOut resolves container c of pod spec (from manifests s) against secrets: env
// values and secretKeyRef/configMapKeyRef/fieldRef, and configMap, secret, projected
// and emptyDir volumes written to a temporary root. A reference to a Secret or key that
// secrets does not hold (and that is not optional) fails the test.
func layOut(t *testing.T, s Set, spec corev1.PodSpec, c corev1.Container, secrets map[string]map[string]string) *podFiles {
	t.Helper()
	return layOutAt(t, t.TempDir(), s, spec, c, secrets)
}

// layOutAt is layOut under a given root (several containers may share one).
func layOutAt(t *testing.T, root string, s Set, spec corev1.PodSpec, c corev1.Container, secrets map[string]map[string]string) *podFiles {
	t.Helper()
	p := &podFiles{root: root, c: c}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			p.env = append(p.env, e.Name+"="+expandKubeRefs(e.Value, p.env))
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name][ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				t.Fatalf("container %s: env %s reads key %q of Secret %q, which the documented Secrets do not have", c.Name, e.Name, ref.Key, ref.Name)
			}
			p.env = append(p.env, e.Name+"="+v)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm := findConfigMap(s, ref.Name)
			if cm == nil {
				t.Fatalf("container %s: env %s reads ConfigMap %q, which is not in the manifests", c.Name, e.Name, ref.Name)
			}
			p.env = append(p.env, e.Name+"="+cm.Data[ref.Key])
		case e.ValueFrom.FieldRef != nil:
			p.env = append(p.env, e.Name+"=field-"+strings.ReplaceAll(e.ValueFrom.FieldRef.FieldPath, ".", "-"))
		default:
			t.Fatalf("container %s: env %s: unsupported valueFrom", c.Name, e.Name)
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Fatalf("container %s: volumeMount %s has no volume", c.Name, m.Name)
		}
		dir := p.host(m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := p.volumeFiles(t, s, v, secrets)
		for name, data := range files {
			f := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// expandKubeRefs expands $(NAME) in an env value with the variables defined before it,
// as the kubelet does ($$ escapes a $, an unknown reference stays as written).
func expandKubeRefs(v string, env []string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		switch {
		case v[i+1] == '$':
			b.WriteByte('$')
			i++
		case v[i+1] == '(':
			end := strings.IndexByte(v[i:], ')')
			if end < 0 {
				b.WriteString(v[i:])
				return b.String()
			}
			name, found := v[i+2:i+end], false
			for j := len(env) - 1; j >= 0 && !found; j-- {
				if k, val, _ := strings.Cut(env[j], "="); k == name {
					b.WriteString(val)
					found = true
				}
			}
			if !found {
				b.WriteString(v[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// volumeFiles is what a volume holds, by path inside it.
func (p *podFiles) volumeFiles(t *testing.T, s Set, v corev1.Volume, secrets map[string]map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	project := func(data map[string]string, items []corev1.KeyToPath, optional bool, what string) {
		if items == nil {
			for k, d := range data {
				out[k] = d
			}
			return
		}
		for _, it := range items {
			d, ok := data[it.Key]
			if !ok {
				if optional {
					continue
				}
				t.Fatalf("volume %s: key %q is not in %s", v.Name, it.Key, what)
			}
			out[it.Path] = d
		}
	}
	secret := func(name string, items []corev1.KeyToPath, optional *bool) {
		data, ok := secrets[name]
		opt := optional != nil && *optional
		if !ok && !opt {
			t.Fatalf("volume %s mounts Secret %q, which is not among the documented Secrets", v.Name, name)
		}
		project(data, items, opt, "Secret "+name)
	}
	configMap := func(name string, items []corev1.KeyToPath, optional *bool) {
		cm := findConfigMap(s, name)
		opt := optional != nil && *optional
		if cm == nil {
			if !opt {
				t.Fatalf("volume %s mounts ConfigMap %q, which is not in the manifests", v.Name, name)
			}
			return
		}
		project(cm.Data, items, opt, "ConfigMap "+name)
	}
	switch {
	case v.EmptyDir != nil, v.PersistentVolumeClaim != nil:
	case v.Secret != nil:
		secret(v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
	case v.ConfigMap != nil:
		configMap(v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			switch {
			case src.Secret != nil:
				secret(src.Secret.Name, src.Secret.Items, src.Secret.Optional)
			case src.ConfigMap != nil:
				configMap(src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
			default:
				t.Fatalf("volume %s: unsupported projected source", v.Name)
			}
		}
	default:
		t.Fatalf("volume %s: unsupported volume type", v.Name)
	}
	return out
}

// host is where an absolute path of the container lies on this machine.
func (p *podFiles) host(containerPath string) string {
	return filepath.Join(p.root, filepath.FromSlash(path.Clean(containerPath)))
}

// mounted reports whether an absolute container path lies on one of the container's mounts.
func (p *podFiles) mounted(containerPath string) bool {
	cp := path.Clean(containerPath)
	for _, m := range p.c.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if cp == mp || strings.HasPrefix(cp, mp+"/") {
			return true
		}
	}
	return false
}

// hoistConfig reads the hoist.yaml the container's args name (--config), rewrites every
// absolute path in it that lies on one of the container's mounts to where that mount
// was laid out, applies edit (nil: none) and writes it back. It returns the file.
// Paths that are not on a mount are left alone, so a file the config needs but the
// Deployment does not mount stays missing.
func (p *podFiles) hoistConfig(t *testing.T, edit func(cfg map[string]any)) string {
	t.Helper()
	cfgPath := ""
	for i, a := range p.c.Args {
		if a == "--config" && i+1 < len(p.c.Args) {
			cfgPath = p.c.Args[i+1]
		}
	}
	if cfgPath == "" || !p.mounted(cfgPath) {
		t.Fatalf("container %s: args %q name no --config on a mounted volume", p.c.Name, p.c.Args)
	}
	file := p.host(cfgPath)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("container %s: %v", p.c.Name, err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", cfgPath, err)
	}
	rewritten := p.rewritePaths(cfg).(map[string]any)
	if edit != nil {
		edit(rewritten)
	}
	out, err := yaml.Marshal(rewritten)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func (p *podFiles) rewritePaths(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = p.rewritePaths(e)
		}
	case []any:
		for i, e := range x {
			x[i] = p.rewritePaths(e)
		}
	case string:
		if path.IsAbs(x) && p.mounted(x) {
			return p.host(x)
		}
	}
	return v
}

// workDir is the container's working directory on this machine (the image's WORKDIR
// unless the container sets one); relative paths in hoist.yaml resolve against it.
func (p *podFiles) workDir(t *testing.T) string {
	t.Helper()
	wd := p.c.WorkingDir
	if wd == "" {
		wd = ImageWorkDir
	}
	dir := p.host(wd)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// stageContainer returns the hoist container of a stage's Deployment.
func stageContainer(t *testing.T, s Set, stage string) (corev1.PodSpec, corev1.Container) {
	t.Helper()
	d, ok := s.Deployments()[stage]
	if !ok {
		t.Fatalf("no Deployment of %s", stage)
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Deployment/%s: %d containers, want 1", d.Name, len(spec.Containers))
	}
	return spec, spec.Containers[0]
}

func (p *podFiles) String() string { return fmt.Sprintf("%s env %q", p.c.Name, p.env) }
