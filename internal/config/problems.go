package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one mistake in a configuration file, at a line.
type Problem struct {
	File string
	Line int // 0 when the mistake is not tied to a line
	// Key is the key path the mistake is about ("receivers[0].secret"); "" for the whole file.
	Key     string
	Message string
}

// String renders the problem as "file:line: message", the form editors jump to.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems is every mistake found in a file; it is an error when not empty.
type Problems []Problem

// Error lists every problem, one a line.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Sorted orders problems by line, keeping the order of problems on one line.
func (ps Problems) Sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return ps
}

// Under reports whether a problem concerns the key path prefix or a key inside it.
func (ps Problems) Under(prefix string) bool {
	for _, p := range ps {
		if p.Key == prefix || strings.HasPrefix(p.Key, prefix+".") || strings.HasPrefix(p.Key, prefix+"[") {
			return true
		}
	}
	return false
}
