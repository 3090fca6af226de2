package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestChartNATSTLS: with nats.tls.caSecretName every stage mounts only the ca.crt of the
// NATS servers' certificate Secret (never its private key), and its config names that
// file, which `hoist config check --stage` reads.
func TestChartNATSTLS(t *testing.T) {
	bin := hoist(t)
	s := helmTemplate(t, "--set", "nats.tls.caSecretName=nats-tls")
	if err := CheckHoist(s); err != nil {
		t.Fatal(err)
	}
	secrets := withSecrets(map[string]map[string]string{
		"nats-tls": {"ca.crt": "fake CA", "tls.crt": "fake server certificate", "tls.key": "fake server key"},
	})
	for _, stage := range Components {
		spec, c := stageContainer(t, s, stage)
		p := layOut(t, s, spec, c, secrets)
		if got, err := os.ReadFile(p.host("/etc/hoist-secrets/nats-ca/ca.crt")); err != nil || string(got) != "fake CA" {
			t.Errorf("%s: /etc/hoist-secrets/nats-ca/ca.crt = %q, %v; want the Secret's ca.crt", stage, got, err)
		}
		if _, err := os.Stat(p.host("/etc/hoist-secrets/nats-ca/tls.key")); err == nil {
			t.Errorf("%s: the NATS servers' private key is mounted", stage)
		}
		cfg := p.hoistConfig(t, nil)
		data, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if want := p.host("/etc/hoist-secrets/nats-ca/ca.crt"); !containsLine(string(data), "caFile: "+want) {
			t.Errorf("%s: hoist.yaml does not set nats.tls.caFile to the mounted CA:\n%s", stage, data)
		}
		cmd := exec.Command(bin, "config", "check", "--stage", stage, "--config", cfg)
		cmd.Env = append([]string{}, p.env...)
		cmd.Dir = p.workDir(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: hoist config check --stage: %v\n%s", stage, err, out)
		}
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
