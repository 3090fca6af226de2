package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hoist.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckReportsEveryMistakeWithItsLine(t *testing.T) {
	p := writeConfig(t, `listen: 127.0.0.1:8080
recievers: []
repositories:
  - name: gitops
    url: /tmp/x.git
    commit:
      window: soon
`)
	code, out, errOut := runHoist(t, "config", "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := p + `:2: unknown key "recievers" in the top level (did you mean "receivers"?)` + "\n" +
		p + `:7: repositories[0].commit.window: "soon" is not a duration (write e.g. 500ms, 2s, 1m30s)` + "\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "2 mistakes") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestConfigCheckOK(t *testing.T) {
	p := writeConfig(t, "receivers:\n  - {name: ci, kind: generic, secret: s}\n")
	code, out, _ := runHoist(t, "config", "check", p)
	if code != 0 || out != p+": ok (1 receiver, 0 repositories, embedded NATS in ./data/nats)\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestConfigCheckJSON(t *testing.T) {
	p := writeConfig(t, "listen: nowhere\nreceivers: [{name: ci, kind: generic, secret: s}]\n")
	code, out, _ := runHoist(t, "config", "check", "--config", p, "--output", "json")
	var got []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if code != 1 || len(got) != 1 || got[0].Line != 1 || got[0].File != p || !strings.Contains(got[0].Message, "not host:port") {
		t.Fatalf("exit %d, %+v", code, got)
	}
}

func TestConfigCheckShippedExample(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	if code, out, errOut := runHoist(t, "config", "check", "--config", "examples/hoist.yaml"); code != 0 {
		t.Fatalf("examples/hoist.yaml: exit %d\n%s%s", code, out, errOut)
	}
}

func TestConfigBadInvocations(t *testing.T) {
	for _, args := range [][]string{
		{"config"},
		{"config", "show"},
		{"config", "check", "--output", "yaml"},
		{"config", "check", "a.yaml", "b.yaml"},
	} {
		if code, _, _ := runHoist(t, args...); code != 2 {
			t.Errorf("hoist %v: exit %d, want 2", args, code)
		}
	}
	code, out, _ := runHoist(t, "config", "check", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(out, "cannot read") {
		t.Errorf("missing file: exit %d, %q", code, out)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
