package matcher

import (
	"errors"
	"path"
	"strings"
)

// checkGlob reports whether g is a usable exclude pattern.
func checkGlob(g string) error {
	g = strings.Trim(g, "/")
	if g == "" {
		return errors.New("empty pattern")
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// Excluded reports whether the repository path p, or a folder holding it,
// matches one of the exclude globs of a Repo (for tools that list a
// repository's manifests as the matcher indexes them).
func Excluded(p string, globs []string) bool {
	if len(globs) == 0 {
		return false
	}
	parts := strings.Split(p, "/")
	for _, g := range globs {
		pat := strings.Split(strings.Trim(g, "/"), "/")
		for n := 1; n <= len(parts); n++ {
			if matchSegments(pat, parts[:n]) {
				return true
			}
		}
	}
	return false
}

// matchSegments matches path segments against pattern segments: "**"
// stands for any number of segments (none included), any other pattern
// segment for exactly one, as path.Match has it ("*" stays within it).
func matchSegments(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchSegments(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
