package suggest

import (
	"fmt"
	"strings"
)

// DidYouMean is " (did you mean "w"?)" for the word w of list closest to s
// (ignoring case, at most two edits away; ties go to the first in
// alphabetical order), or "" when no word is that close: the one hint every
// "unknown name" message of hoist's configuration gives.
func DidYouMean(s string, list []string) string {
	best, bestDist := "", 3
	for _, w := range list {
		if d := Distance(strings.ToLower(s), strings.ToLower(w)); d < bestDist || d == bestDist && w < best {
			best, bestDist = w, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
