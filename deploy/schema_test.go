package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// schemaKeys lists the keys a JSON schema object accepts, as dot paths with "[]" after a
// list of objects (the notation of ConfigKeys).
func schemaKeys(prefix string, s map[string]any, out *[]string) {
	props, _ := s["properties"].(map[string]any)
	for k, v := range props {
		sub, _ := v.(map[string]any)
		key := prefix + k
		switch {
		case sub["type"] == "object" && sub["properties"] != nil:
			schemaKeys(key+".", sub, out)
		case sub["type"] == "array" && sub["items"] != nil && sub["items"].(map[string]any)["properties"] != nil:
			schemaKeys(key+"[].", sub["items"].(map[string]any), out)
		default:
			*out = append(*out, key)
		}
	}
}

// TestChartSchemaKnowsConfig: values.schema.json checks inside `config` (so that
// `--set config.bogus=1` fails at render time), which means it must accept exactly the
// keys hoist.yaml has: compared both ways with the Config struct of internal/config.
func TestChartSchemaKnowsConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	cfg := schema["properties"].(map[string]any)["config"].(map[string]any)
	if cfg["additionalProperties"] != false {
		t.Fatal("values.schema.json: config accepts unknown keys")
	}
	var inSchema []string
	schemaKeys("", cfg, &inSchema)
	sort.Strings(inSchema)
	want, err := ConfigKeys(filepath.Join(repoRoot, "internal", "config"), "Config")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]bool{}
	for _, k := range inSchema {
		doc[k] = true
	}
	for _, k := range want {
		if !doc[k] {
			t.Errorf("hoist.yaml key %s is not in values.schema.json's config (helm would refuse it)", k)
		}
		delete(doc, k)
	}
	for k := range doc {
		t.Errorf("values.schema.json's config has %s, which hoist.yaml does not", k)
	}
}

// TestHelmSetStringConfigRepositoriesRejected: the documented Helm install produced a
// broken config — `--set-string config.repositories[0].url=…` replaces the whole list
// with one entry holding only a url. The schema now refuses that at render time (and
// the docs show the repository block instead, TestDocumentedHelmInstall).
func TestHelmSetStringConfigRepositoriesRejected(t *testing.T) {
	helm := tool(t, "helm")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--set-string", "config.repositories[0].url=https://git.example.com/platform/gitops.git"}, "missing property 'name'"},
		{[]string{"--set", "config.bogus=1"}, "additional properties 'bogus' not allowed"},
		{[]string{"--set", "config.nats.replicas=three"}, "/config/nats/replicas"},
		{[]string{"--set", "config.receivers[0].name=x"}, "missing property 'kind'"},
	} {
		cmd := exec.Command(helm, append([]string{"template", "hoist", chartDir}, tt.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("helm template %v: err %v, want an error mentioning %q\n%s", tt.args, err, tt.want, out)
		}
	}
}
