package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestCheckHoistCatches breaks the kustomize base one way at a time and checks that
// CheckHoist names each breakage (so the manifest tests can fail).
func TestCheckHoistCatches(t *testing.T) {
	abs, err := filepath.Abs(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		break_ func(s Set) Set
		want   string
	}{
		{"one ingest replica", func(s Set) Set {
			one := int32(1)
			s.Deployments()["ingest"].Spec.Replicas = &one
			return s
		}, "ingest must run at least 2 replicas"},
		{"writable root filesystem", func(s Set) Set {
			f := false
			s.Deployments()["match"].Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
			return s
		}, "readOnlyRootFilesystem must be true"},
		{"capability added", func(s Set) Set {
			sc := s.Deployments()["commit"].Spec.Template.Spec.Containers[0].SecurityContext
			sc.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			return s
		}, "capabilities must drop ALL and add none"},
		{"no ingest budget", func(s Set) Set {
			var out Set
			for _, o := range s {
				if o.Kind != "PodDisruptionBudget" || !strings.Contains(o.Meta.Name, "ingest") {
					out = append(out, o)
				}
			}
			return out
		}, "no PodDisruptionBudget for the ingest Deployment"},
		{"embedded secret", func(s Set) Set {
			sec := &corev1.Secret{StringData: map[string]string{"git-password": "hunter2"}}
			sec.Name = "hoist"
			sec.Kind, sec.APIVersion = "Secret", "v1"
			return append(s, Object{TypeMeta: sec.TypeMeta, Meta: &sec.ObjectMeta, Value: sec})
		}, "a Secret is embedded"},
		{"literal password", func(s Set) Set {
			c := &s.Deployments()["commit"].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "HOIST_GIT_PASSWORD", Value: "hunter2"})
			return s
		}, "env HOIST_GIT_PASSWORD holds a literal value"},
		{"git credentials in ingest", func(s Set) Set {
			spec := &s.Deployments()["ingest"].Spec.Template.Spec
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "git", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "hoist-git"}}})
			return s
		}, `volume git mounts Secret "hoist-git"; the ingest stage's Secrets are`},
		{"another stage's NATS password", func(s Set) Set {
			c := &s.Deployments()["match"].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "hoist-nats-commit"}, Key: "password"}}})
			return s
		}, `env X reads Secret "hoist-nats-commit"; the match stage's Secrets are`},
		{"wrong liveness path", func(s Set) Set {
			s.Deployments()["ingest"].Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/readyz"
			return s
		}, "liveness probe must GET /healthz"},
		{"service on a missing port", func(s Set) Set {
			for _, o := range s.Find("Service") {
				svc := o.Value.(*corev1.Service)
				svc.Spec.Ports[0].TargetPort = intstr.FromString("metrics")
			}
			return s
		}, `targets "metrics", not a container port`},
		{"no memory limit", func(s Set) Set {
			delete(s.Deployments()["match"].Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
			return s
		}, "resources.limits must set memory"},
		{"wrong args", func(s Set) Set {
			s.Deployments()["match"].Spec.Template.Spec.Containers[0].Args[0] = "serve"
			return s
		}, `args ["serve" "--config" "/etc/hoist/hoist.yaml"]`},
		{"clones on the read-only root", func(s Set) Set {
			for _, o := range s.Find("ConfigMap") {
				cm := o.Value.(*corev1.ConfigMap)
				if y, ok := cm.Data["hoist.yaml"]; ok {
					cm.Data["hoist.yaml"] = strings.Replace(y, "dataDir: /var/lib/hoist", "dataDir: /srv/hoist", 1)
				}
			}
			return s
		}, "dataDir /srv/hoist (from hoist.yaml) is not on a writable emptyDir"},
		{"no commit deployment", func(s Set) Set {
			var out Set
			for _, o := range s {
				if d, ok := o.Value.(*appsv1.Deployment); !ok || d.Spec.Template.Labels[ComponentLabel] != "commit" {
					out = append(out, o)
				}
			}
			return out
		}, "no Deployment with app.kubernetes.io/component=commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildKustomize(t, filesys.MakeFsOnDisk(), abs)
			err := CheckHoist(tt.break_(s))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckHoist = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
