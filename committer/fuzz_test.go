package committer

import (
	"strings"
	"testing"
)

// FuzzSplitPath checks that no path a rewrite can carry gets past
// splitPath unless it stays inside the repository and out of .git.
func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"apps/a.yaml", "../x", "a/../../b", ".git/config", "/etc/passwd", "a//b", "a\\..\\b", "a/.GIT./x", "ok/.gitignore", "a\x00b", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		parts, err := splitPath(p)
		if err != nil {
			return
		}
		if strings.HasPrefix(p, "/") || strings.Join(parts, "/") != p {
			t.Fatalf("%q accepted as %q", p, parts)
		}
		for _, c := range parts {
			if c == "" || c == "." || c == ".." || strings.ContainsAny(c, "/\\\x00") || strings.EqualFold(strings.TrimRight(c, ". "), ".git") {
				t.Fatalf("%q accepted with component %q", p, c)
			}
		}
	})
}
