package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden says which module paths a group of hoist's packages must never
// depend on, directly or through anything they import.
var forbidden = []struct {
	why      string
	packages []string
	prefixes []string
}{
	{
		why: "the pure core (detection, decision, edits, references) is functions over bytes and values: " +
			"no bus, git or metrics code may be linked into it",
		packages: []string{
			"github.com/hoist-gitops/hoist/internal/manifest",
			"github.com/hoist-gitops/hoist/internal/policy",
			"github.com/hoist-gitops/hoist/internal/imageref",
			"github.com/hoist-gitops/hoist/internal/wire",
			"github.com/hoist-gitops/hoist/internal/imagerules",
		},
		prefixes: []string{"github.com/nats-io/", "github.com/go-git/", "github.com/prometheus/"},
	},
	{
		why: "the configuration file is read for every stage; mapping it onto a stage's own types is " +
			"cmd/hoist's wiring, so a stage's code is never linked into another stage's reading of it",
		packages: []string{"github.com/hoist-gitops/hoist/internal/config"},
		prefixes: []string{
			"github.com/hoist-gitops/hoist/ingest",
			"github.com/hoist-gitops/hoist/matcher",
			"github.com/hoist-gitops/hoist/committer",
		},
	},
}

// TestPureCoreImports: `go list -deps` of each package names none of the
// forbidden module paths: the pure core links no NATS, go-git or Prometheus
// code, and the configuration links no stage.
func TestPureCoreImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, rule := range forbidden {
		for _, pkg := range rule.packages {
			out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 2 {
				t.Fatalf("go list -deps %s listed %d packages; it cannot have checked anything", pkg, len(deps))
			}
			for _, dep := range deps {
				for _, p := range rule.prefixes {
					if strings.HasPrefix(dep, p) {
						t.Errorf("%s depends on %s: %s", pkg, dep, rule.why)
					}
				}
			}
		}
	}
}
