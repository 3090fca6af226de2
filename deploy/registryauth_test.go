package deploy

import (
	"os"
	"testing"
)

// registrySecret is the kubernetes.io/dockerconfigjson Secret of the registry-auth option.
var registrySecret = map[string]map[string]string{
	"hoist-registry": {".dockerconfigjson": `{"auths":{"registry.example.com":{"auth":"dTpw"}}}`},
}

func withSecrets(extra map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range fakeSecrets {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// checkRegistryAuth checks that the matchers (only) see the pull secret at
// /etc/hoist/registry/config.json next to hoist.yaml.
func checkRegistryAuth(t *testing.T, s Set) {
	t.Helper()
	if err := CheckHoist(s); err != nil {
		t.Fatal(err)
	}
	for _, stage := range Components {
		spec, c := stageContainer(t, s, stage)
		p := layOut(t, s, spec, c, withSecrets(registrySecret))
		got, err := os.ReadFile(p.host("/etc/hoist/registry/config.json"))
		if stage != "match" {
			if err == nil {
				t.Errorf("%s sees the registry pull secret; only match needs it", stage)
			}
			continue
		}
		if err != nil || string(got) != registrySecret["hoist-registry"][".dockerconfigjson"] {
			t.Errorf("match: /etc/hoist/registry/config.json = %q, %v; want the Secret's .dockerconfigjson", got, err)
		}
		if _, err := os.Stat(p.host(ConfigPath)); err != nil {
			t.Errorf("match: hoist.yaml gone with the registry secret: %v", err)
		}
	}
}

// TestRegistryAuthMount: the optional pull secret for the registry feature, mounted
// into the matchers at /etc/hoist/registry/config.json — kustomize component and
// chart value, both off by default.
func TestRegistryAuthMount(t *testing.T) {
	t.Run("kustomize component", func(t *testing.T) { checkRegistryAuth(t, overlay(t, "registry-auth")) })
	t.Run("chart", func(t *testing.T) {
		checkRegistryAuth(t, helmTemplate(t, "--set", "registryAuth.secretName=hoist-registry"))
	})
	for name, s := range map[string]Set{"kustomize base": kustomizeBase(t), "chart default": helmTemplate(t)} {
		spec, c := stageContainer(t, s, "match")
		p := layOut(t, s, spec, c, withSecrets(registrySecret))
		if _, err := os.Stat(p.host("/etc/hoist/registry/config.json")); err == nil {
			t.Errorf("%s mounts the registry pull secret by default", name)
		}
	}
}
