package policy

import (
	"context"
	"fmt"

	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/wire"
)

// Result is what became of one rewrite when it was re-checked and applied.
type Result struct {
	Rewrite wire.Rewrite
	// Applied is true when the file now carries the rewrite's change.
	Applied bool
	// Reason says why it was dropped, or what changed ("old → new").
	Reason string
}

// ApplyRewrites re-checks rewrites against a file as it is now, so a
// person's commit at the head always wins, and applies those that still
// hold. For each rewrite the site (Resource, Container) must still exist and
// read the same repository, and Decide must still approve the rewrite's tag
// (automated, not locked or ignored, valid filter, newer than what the file
// holds now; for a Flux v2 marker site, later in the order of the ImagePolicy
// the rewrite carries). Several rewrites for one site yield one winner
// (newerCandidate, or markerNewer for a marker site). Re-applying an applied rewrite is a
// no-op (Applied false, Reason "already at ..."). The edits are byte-precise
// (manifest.Retag, manifest.Apply); data is returned unchanged when nothing
// applies. An error means the edits could not be combined; the results then
// say which rewrites were meant to apply.
func ApplyRewrites(ctx context.Context, file string, data []byte, rws []wire.Rewrite, times TagTimes) ([]byte, []Result, error) {
	sites, _ := manifest.Parse(file, data)
	results := make([]Result, len(rws))
	type approved struct {
		i    int
		d    Decision
		cand Candidate
	}
	bySite := map[int][]approved{} // index into sites → approved rewrites
	var order []int
	for i, rw := range rws {
		results[i].Rewrite = rw
		if rw.File != file {
			results[i].Reason = fmt.Sprintf("rewrite is for %s, not %s", rw.File, file)
			continue
		}
		k, why := findSite(sites, rw)
		if k < 0 {
			results[i].Reason = why
			continue
		}
		cand := Candidate{Tag: rw.Tag, Digest: rw.Digest, PushedAt: rw.PushedAt, PinDigest: rw.PinDigest && sites[k].Flux == nil}
		d := Decide(ctx, sites[k], cand, times)
		if !d.Update {
			results[i].Reason = d.Reason
			continue
		}
		if _, ok := bySite[k]; !ok {
			order = append(order, k)
		}
		bySite[k] = append(bySite[k], approved{i: i, d: d, cand: cand})
	}
	var reps []manifest.Replacement
	for _, k := range order {
		site := sites[k]
		group := bySite[k]
		win := group[0]
		for _, a := range group[1:] {
			if batchNewer(site, a.cand, win.cand) {
				win = a
			}
		}
		for _, a := range group {
			if a.i != win.i {
				results[a.i].Reason = "superseded by " + win.d.New.String() + " in the same batch"
			}
		}
		retag := manifest.Retag
		if win.cand.PinDigest {
			retag = manifest.RetagPinned
		}
		r, ref, err := retag(data, site, win.d.New.Tag, win.d.New.Digest)
		if err != nil {
			results[win.i].Reason = fmt.Sprintf("cannot edit %s %s: %v", site.Resource, site.Container, err)
			continue
		}
		if ref != win.d.New {
			results[win.i].Reason = fmt.Sprintf("edit of %s %s would read %s, not %s", site.Resource, site.Container, ref, win.d.New)
			continue
		}
		reps = append(reps, r...)
		results[win.i].Applied = true
		results[win.i].Reason = win.d.Current.String() + " → " + win.d.New.String()
	}
	if len(reps) == 0 {
		return data, results, nil
	}
	out, err := manifest.Apply(data, reps)
	if err != nil {
		return data, results, fmt.Errorf("apply rewrites to %s: %w", file, err)
	}
	return out, results, nil
}

// batchNewer reports whether candidate a wins over b for site in one batch.
func batchNewer(site manifest.Site, a, b Candidate) bool {
	if site.Flux != nil {
		return markerNewer(site.Flux.Policy, a, b)
	}
	f, _ := CachedFilter(site.Policy.Filter) // valid: Decide approved
	return newerCandidate(f, a, b)
}

// findSite finds the site a rewrite is for: same resource and container,
// reading the same canonical repository. A marker site (Flux v2) is bound
// to the ImagePolicy the rewrite carries first (see bindMarker). It
// returns -1 and why when none does.
func findSite(sites []manifest.Site, rw wire.Rewrite) (int, string) {
	other := ""
	for k, s := range sites {
		if s.Resource.String() != rw.Resource || s.Container != rw.Container {
			continue
		}
		if s.Flux != nil {
			b, why := bindMarker(s, rw)
			if why != "" {
				return -1, why
			}
			sites[k], s = b, b
		}
		if rw.Image == "" || s.Ref.Canonical() == rw.Image {
			return k, ""
		}
		other = s.Ref.String()
	}
	if other != "" {
		return -1, fmt.Sprintf("%s %s now reads %s, not %s", rw.Resource, rw.Container, other, rw.Image)
	}
	return -1, fmt.Sprintf("site %s %s no longer exists in %s", rw.Resource, rw.Container, rw.File)
}
