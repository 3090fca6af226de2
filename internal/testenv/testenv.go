// Package testenv finds the external programs hoist's tests drive for real
// (registry, crane, nats-server, helm), built into .tools/bin by `make tools`.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of the named program from $HOIST_TOOLS or the
// module's .tools/bin. When it is missing the test fails under CI (where
// `make test` must have built it) and is skipped elsewhere with a hint.
func Tool(t testing.TB, name string) string {
	t.Helper()
	dirs := []string{os.Getenv("HOIST_TOOLS")}
	if root, err := ModuleRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, ".tools", "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
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

// ModuleRoot is the directory holding the main module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(string(out[:len(out)-1])), nil
}

// BenchReport is the path of the BENCHMARKS.md a bench report test writes
// its section of, from $HOIST_BENCH_REPORT (set by `make bench`); the test
// is skipped when it is unset, since it measures rather than checks.
func BenchReport(t testing.TB) string {
	t.Helper()
	path := os.Getenv("HOIST_BENCH_REPORT")
	if path == "" {
		t.Skip("set HOIST_BENCH_REPORT to the path of BENCHMARKS.md (make bench) to measure")
	}
	return path
}
