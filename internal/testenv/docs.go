package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DocSays fails the test for each phrase the docs page (a file under the
// project's docs/, e.g. "committer.md") does not contain. Line breaks and
// runs of spaces count as one space, so a phrase may span lines. It is how
// a test pins a value the docs repeat to the Go constant that defines it.
func DocSays(t testing.TB, page string, phrases ...string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's folder: docs/%s cannot be found", page)
		}
		dir = parent
	}
	data, err := os.ReadFile(filepath.Join(dir, "docs", page))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(data)), " ")
	for _, p := range phrases {
		if !strings.Contains(doc, p) {
			t.Errorf("docs/%s does not say %q", page, p)
		}
	}
}

// Spoken writes d as hoist's docs do in prose: 50 ms, 30 s, 90 s, 2 min,
// 2 hours.
func Spoken(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute || d%time.Minute != 0:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}
