package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// runHoist runs the command line in the current directory and returns its
// exit status, stdout and stderr.
func runHoist(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// runGolden runs hoist with args, which must exit 0 with nothing on
// stderr, compares its stdout with testdata/golden, and returns it.
func runGolden(t *testing.T, golden string, args ...string) string {
	t.Helper()
	code, out, errOut := runHoist(t, args...)
	if code != 0 || errOut != "" {
		t.Errorf("hoist %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	checkGolden(t, golden, out)
	return out
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdataDir, name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

var testdataDir, examplesDir = mustAbs("testdata"), mustAbs("../../examples/gitops")

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func TestImagesTable(t *testing.T) {
	t.Chdir(examplesDir)
	runGolden(t, "images.golden", "images")
	// The same, named as a folder and as files.
	t.Chdir("..")
	code, out2, _ := runHoist(t, "images", "gitops/apps", "gitops/monitoring/mongodb.yaml")
	if code != 0 || !strings.Contains(out2, "gitops/apps/shop.yaml:25") || !strings.Contains(out2, "gitops/monitoring/mongodb.yaml:18") ||
		strings.Contains(out2, "prometheus") {
		t.Errorf("images gitops/apps gitops/monitoring/mongodb.yaml: exit %d\n%s", code, out2)
	}
}

func TestImagesJSON(t *testing.T) {
	t.Chdir(examplesDir)
	code, out, errOut := runHoist(t, "images", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	checkGolden(t, "images.json.golden", out)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 15 {
		t.Fatalf("%d rows, want 15", len(rows))
	}
	// The documented fields, with their JSON types.
	for _, key := range []string{"file", "line", "resource", "container", "image", "filter", "automated", "locked", "problems"} {
		if _, ok := rows[0][key]; !ok {
			t.Errorf("row has no %q: %v", key, rows[0])
		}
	}
	if _, ok := rows[0]["problems"].([]any); !ok {
		t.Errorf("problems is %T, want a list", rows[0]["problems"])
	}
	// File-level problems go to stderr, stdout stays the array.
	if !strings.Contains(errOut, "legacy/submarine.yaml:18") || !strings.Contains(errOut, "filter.fluxd.io/submarine") {
		t.Errorf("stderr does not report the misspelt annotation: %q", errOut)
	}
}

func TestImagesInvalidFilterIsNotAutomated(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hr.yaml"), []byte(`apiVersion: helm.fluxcd.io/v1
kind: HelmRelease
metadata:
  name: bad
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/chart-image: semver:banana
    filter.fluxcd.io/web: 'glob: v1.*'
spec:
  values:
    image: nginx:1.25
    web:
      image: nginx:1.24
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHoist(t, "images", "--output=json", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []imageRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Automated || len(rows[0].Problems) != 1 || !strings.Contains(rows[0].Problems[0], "invalid semver constraint") {
		t.Errorf("chart-image with semver:banana: %+v", rows[0])
	}
	if !rows[1].Automated || len(rows[1].Problems) != 0 || rows[1].Filter != "glob: v1.*" {
		t.Errorf("web with 'glob: v1.*': %+v", rows[1])
	}
	// The table shows the problem too.
	_, table, _ := runHoist(t, "images", dir)
	if !strings.Contains(table, "1 problem\n") || !strings.Contains(table, "invalid semver constraint") {
		t.Errorf("table:\n%s", table)
	}
}

func TestImagesBadInvocations(t *testing.T) {
	t.Chdir(examplesDir)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"images", "no/such/folder"}, 1, "no/such/folder"},
		{[]string{"images", "--output", "yaml"}, 2, "table or json"},
		{[]string{"images", "--nope"}, 2, "nope"},
	} {
		code, out, errOut := runHoist(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.args, code, out, errOut, tc.code, tc.msg)
		}
	}
}

func TestImagesBrokenYAMLIsShownNotFatal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("kind: Deployment\nmetadata: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ok.yml"), []byte("kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runHoist(t, "images", dir)
	if code != 0 || !strings.Contains(out, "busybox:1.36") || !strings.Contains(out, "broken.yaml:") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
