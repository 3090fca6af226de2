package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// oneRepoInstall is the Helm install the docs (docs/operations.md, NOTES.txt) show for
// the common case: one repository, one registry, nothing but --set.
var oneRepoInstall = []string{
	"--set", "repository.url=https://git.example.com/platform/gitops.git",
	"--set", "repository.paths={clusters/production}",
	"--set", "receiver.kind=harbor",
}

// renderings are the shipped ways to install hoist, rendered: the kustomize base, the
// chart with its defaults, the chart with the documented one-repository --set install,
// and the chart with the Flux example's values.
func renderings(t *testing.T) map[string]Set {
	t.Helper()
	abs, err := filepath.Abs(kustomizeDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Set{
		"kustomize":                  buildKustomize(t, filesys.MakeFsOnDisk(), abs),
		"helm default":               helmTemplate(t),
		"helm one-repository --set":  helmTemplate(t, oneRepoInstall...),
		"helm flux example's values": helmTemplate(t, "--values", fluxValues(t)),
		"helm ssh, signed commits": helmTemplate(t, "--set", "repository.url=ssh://git@git.example.com/platform/gitops.git",
			"--set", "repository.commit.signingKeySecretName=hoist-signing"),
	}
	return out
}

// checkStage runs `hoist config check --stage stage` on what pod p sees of the config,
// with exactly the environment its container gets (nothing inherited).
func checkStage(t *testing.T, bin string, p *podFiles, stage string) ([]byte, error) {
	t.Helper()
	cfg := p.hoistConfig(t, nil)
	cmd := exec.Command(bin, "config", "check", "--stage", stage, "--config", cfg)
	cmd.Env = append([]string{}, p.env...)
	cmd.Dir = p.workDir(t)
	return cmd.CombinedOutput()
}

// TestEveryStageRunsOnItsOwnSecrets: every stage dies on the other stages' secrets.
// Each rendered Deployment gives its container only its own stage's Secrets; this
// lays out exactly that container's environment and mounted files and checks that
// `hoist config check --stage <stage>` accepts the config with them. And it is a real
// check: the ingest pod, which has no git credentials, is refused as a committer.
func TestEveryStageRunsOnItsOwnSecrets(t *testing.T) {
	bin := hoist(t)
	for name, s := range renderings(t) {
		for _, stage := range Components {
			t.Run(name+"/"+stage, func(t *testing.T) {
				spec, c := stageContainer(t, s, stage)
				p := layOut(t, s, spec, c, fakeSecrets)
				if out, err := checkStage(t, bin, p, stage); err != nil {
					t.Fatalf("hoist config check --stage %s with %s and its mounts: %v\n%s", stage, p, err, out)
				}
			})
		}
		t.Run(name+"/ingest pod as committer", func(t *testing.T) {
			spec, c := stageContainer(t, s, "ingest")
			p := layOut(t, s, spec, c, fakeSecrets)
			out, err := checkStage(t, bin, p, "commit")
			if err == nil {
				t.Fatalf("hoist config check --stage commit accepted the ingest pod's files and env (%s):\n%s", p, out)
			}
		})
	}
}

// fluxValues writes the values of deploy/flux's HelmRelease of the chart to a file.
func fluxValues(t *testing.T) string {
	t.Helper()
	flux := filepath.Join(repoRoot, "deploy", "flux", "hoist-helmrelease.yaml")
	data, err := os.ReadFile(flux)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll(flux, data)
	if err != nil {
		t.Fatal(err)
	}
	releases := Set(objs).Find("HelmRelease")
	if len(releases) == 0 {
		t.Fatalf("%s has no HelmRelease", flux)
	}
	raw := releases[0].Value.(interface{ GetValues() map[string]any }).GetValues()
	values := filepath.Join(t.TempDir(), "values.yaml")
	b, err := jsonMarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(values, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return values
}
