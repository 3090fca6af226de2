package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// repoRoot is hoist's repository root: the deploy module lives in its deploy/ folder.
const repoRoot = ".."

// tool finds a program `make tools` builds into .tools/bin (or $HOIST_TOOLS). Like the
// main module's internal/testenv.Tool, which this module cannot import: missing under CI
// is a failure, elsewhere a skip with the command that fixes it.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("HOIST_TOOLS"), filepath.Join(repoRoot, ".tools", "bin")} {
		if dir == "" {
			continue
		}
		p, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not built: `make tools` must run before the tests", name)
	}
	t.Skipf("%s not built: run `make tools` first", name)
	return ""
}

// run runs a program and returns its standard output, failing the test with its
// standard error when it fails.
func run(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr)
	}
	return out
}

// jsonMarshal is json.Marshal (helm reads JSON as YAML).
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
