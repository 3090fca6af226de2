package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIHelpAndVersion: `hoist help COMMAND` shows that command's usage, a
// command's --help exits 0 (asking for help is not a mistake), --version is
// `hoist version`, and an unknown command exits 2.
func TestCLIHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{[]string{"help"}, 0, "hoist help <command>"},
		{[]string{"--help"}, 0, "commands:"},
		{[]string{"help", "serve"}, 0, "usage: hoist serve"},
		{[]string{"help", "match"}, 0, "address for /metrics, /healthz and /readyz"},
		{[]string{"help", "ingest"}, 0, "address for webhooks"},
		{[]string{"help", "images"}, 0, "--fail-on-problems"},
		{[]string{"help", "nope"}, 2, `unknown command "nope"`},
		{[]string{"serve", "--help"}, 0, "usage: hoist serve"},
		{[]string{"commit", "-h"}, 0, "usage: hoist commit"},
		{[]string{"images", "--help"}, 0, "usage: hoist images"},
		{[]string{"explain", "--help"}, 0, "usage: hoist explain"},
		{[]string{"config", "check", "--help"}, 0, "-config"},
		{[]string{"serve", "--nope"}, 2, "nope"},
		{[]string{"--version"}, 0, "hoist dev"},
		{[]string{"version"}, 0, "go      go1."},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{nil, 2, "usage: hoist"},
	} {
		code, out, errOut := runHoist(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("hoist %v: exit %d, output\n%s%s\nwant exit %d mentioning %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}

// TestVersionJSON: the version, commit and Go version for scripts.
func TestVersionJSON(t *testing.T) {
	code, out, _ := runHoist(t, "version", "--output", "json")
	var b buildInfo
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil {
		t.Fatalf("exit %d, output %q", code, out)
	}
	if b.Version != version || !strings.HasPrefix(b.Go, "go1.") || b.Platform == "" {
		t.Errorf("version --output json = %+v", b)
	}
}

// TestImagesFailOnProblems: --fail-on-problems makes a CI job fail on any
// problem (the examples hold a misspelt annotation), in table and JSON output,
// and a clean tree passes; warnings (automated without a filter) never fail it.
func TestImagesFailOnProblems(t *testing.T) {
	t.Chdir(examplesDir)
	for _, output := range []string{"table", "json"} {
		code, _, errOut := runHoist(t, "images", "--output", output, "--fail-on-problems")
		if code != 1 || !strings.Contains(errOut, "1 problem") {
			t.Errorf("--output %s with a problem: exit %d, stderr %q; want exit 1 naming 1 problem", output, code, errOut)
		}
	}
	// workloads/api.yaml has no problem, only an automated container without a filter.
	code, out, errOut := runHoist(t, "images", "--fail-on-problems", "workloads/api.yaml")
	if code != 0 || !strings.Contains(out, "0 problems, 1 warning") || !strings.Contains(out, "proxy: automated without a filter") {
		t.Errorf("images --fail-on-problems workloads/api.yaml: exit %d, stderr %q\n%s", code, errOut, out)
	}
	code, _, _ = runHoist(t, "images", "workloads/api.yaml", "legacy")
	if code != 0 {
		t.Errorf("without --fail-on-problems problems do not fail: exit %d", code)
	}
}
