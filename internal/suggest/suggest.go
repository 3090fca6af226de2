// Package suggest measures how far a misspelt name is from the names that
// were meant, so configuration and annotation mistakes can say "did you
// mean …?".
package suggest

// maxLen bounds the strings Distance compares: names longer than this are
// never typos of each other worth suggesting, and the bound keeps the cost
// of a hostile input (a huge annotation key) constant.
const maxLen = 64

// Distance is the Levenshtein edit distance between a and b, counted in
// bytes. Strings longer than 64 bytes are 0 apart when equal and 99 otherwise.
func Distance(a, b string) int {
	if len(a) > maxLen || len(b) > maxLen {
		if a == b {
			return 0
		}
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
