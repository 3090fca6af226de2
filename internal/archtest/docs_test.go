package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// specCitation is a reference to the team's behaviour contract, which does
// not ship with hoist: the word SPEC followed by a section sign, a section
// number, or ".md".
var specCitation = regexp.MustCompile(`SPEC(\.md| ?§| [0-9]+\.[0-9])`)

// TestNoSpecCitations: hoist's code, tests, docs and examples state each rule
// themselves; none cites a SPEC, since no SPEC ships with hoist.
func TestNoSpecCitations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git ls-files")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	root := strings.TrimSpace(string(top))
	out, err := exec.Command("git", "-C", root, "ls-files").Output()
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(string(out))
	if len(files) < 100 {
		t.Fatalf("git ls-files listed %d files; it cannot have checked the project", len(files))
	}
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".go", ".md", ".yaml", ".yml", ".json", ".txt", ".tpl", ".golden", ".sh":
		default:
			if filepath.Base(f) != "Makefile" && filepath.Base(f) != "Dockerfile" {
				continue
			}
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // listed but removed in the work tree
		}
		for i, line := range strings.Split(string(data), "\n") {
			if specCitation.MatchString(line) {
				t.Errorf("%s:%d cites the SPEC, which does not ship: state the rule itself: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
