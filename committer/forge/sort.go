package forge

import "sort"

// sortNewest orders pull requests newest (highest number) first.
func sortNewest(prs []PR) {
	sort.SliceStable(prs, func(i, j int) bool { return prs[i].Number > prs[j].Number })
}
