package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainTable(t *testing.T) {
	t.Chdir(examplesDir)
	for _, tc := range []struct{ golden, image string }{
		{"explain-app-1.2.4.golden", "127.0.0.1:5000/team/app:1.2.4"},
		{"explain-app-1.3.0.golden", "127.0.0.1:5000/team/app:1.3.0"},
		{"explain-migrate.golden", "127.0.0.1:5000/team/migrate:1.1.0"},
		{"explain-mongodb.golden", "index.docker.io/bitnami/mongodb:4.0.4"},
		{"explain-latest.golden", "127.0.0.1:5000/team/shop:latest"},
		{"explain-unknown.golden", "ghcr.io/nobody/nothing:1.0"},
	} {
		runGolden(t, tc.golden, "explain", tc.image)
	}
}

func TestExplainJSON(t *testing.T) {
	t.Chdir(examplesDir)
	out := runGolden(t, "explain-app-1.2.4.json.golden", "explain", "--output", "json", "127.0.0.1:5000/team/app:1.2.4", ".")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"file", "resource", "container", "current", "new", "decision", "reason"} {
		if _, ok := rows[0][key]; !ok {
			t.Errorf("row has no %q: %v", key, rows[0])
		}
	}
	// No site: an empty array, not null.
	_, out, _ = runHoist(t, "explain", "--output", "json", "ghcr.io/nobody/nothing:1.0")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("no sites: %q, want []", out)
	}
}

func TestExplainBadInvocations(t *testing.T) {
	t.Chdir(examplesDir)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"explain"}, 2, "usage"},
		{[]string{"explain", "nginx"}, 2, "no tag"},
		{[]string{"explain", "Nginx:1.0"}, 2, "invalid"},
		{[]string{"explain", "nginx:bad tag"}, 2, "invalid"},
		{[]string{"explain", "nginx:1.0", "missing.yaml"}, 1, "missing.yaml"},
		{[]string{"explain", "--output", "xml", "nginx:1.0"}, 2, "table or json"},
	} {
		code, out, errOut := runHoist(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.args, code, out, errOut, tc.code, tc.msg)
		}
	}
}

// copyTree copies the files of src into a new temporary folder.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// goldenTree checks every file under dir against its source under src:
// unchanged files must equal the source, changed ones testdata/<name>/<file>
// (the golden tree holds only the files an edit changed).
func goldenTree(t *testing.T, dir, src, name string) {
	t.Helper()
	if *updateGolden {
		os.RemoveAll(filepath.Join(testdataDir, name))
	}
	changed := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		orig, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			return err
		}
		_, statErr := os.Stat(filepath.Join(testdataDir, name, rel))
		if string(data) == string(orig) && (*updateGolden || statErr != nil) {
			return nil // unchanged, as the golden tree says
		}
		changed++
		checkGolden(t, filepath.Join(name, rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if changed == 0 {
		t.Errorf("no file changed")
	}
}

// TestExplainWriteGolden writes pushes into copies of the example folder
// and of testdata/write/in and compares every file with the golden trees,
// then checks a second --write changes nothing.
func TestExplainWriteGolden(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		images    []string
	}{
		{"write/examples-app-1.2.4", examplesDir, []string{"127.0.0.1:5000/team/app:1.2.4"}},
		{"write/examples-digest", examplesDir, []string{
			"127.0.0.1:5000/team/migrate:1.1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			"docker.io/prom/prometheus:v2.3.2",
			"nats-streaming:0.6.1",
		}},
		{"write/out", filepath.Join(testdataDir, "write/in"), []string{"example.com/q/app:1.10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, tc.src)
			t.Chdir(dir)
			var log strings.Builder
			for _, img := range tc.images {
				code, out, errOut := runHoist(t, "explain", "--write", img)
				if code != 0 || errOut != "" {
					t.Fatalf("explain --write %s: exit %d, stderr %q", img, code, errOut)
				}
				log.WriteString("$ hoist explain --write " + img + "\n" + out)
			}
			checkGolden(t, tc.name+".txt", log.String())
			goldenTree(t, dir, tc.src, tc.name)
			before := snapshotTree(t, dir)
			for _, img := range tc.images {
				code, out, _ := runHoist(t, "explain", "--write", img)
				if code != 0 || strings.Contains(out, " update ") {
					t.Errorf("second --write %s: exit %d\n%s", img, code, out)
				}
			}
			if after := snapshotTree(t, dir); after != before {
				t.Errorf("a second --write changed the files")
			}
		})
	}
}

func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.WriteString(p + "\n" + string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
