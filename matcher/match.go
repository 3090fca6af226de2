package matcher

import (
	"context"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// Outcome is what one push means for one site.
type Outcome struct {
	// Site points into the index, which never modifies a site once it is
	// indexed (SetFile replaces); callers must not modify it either.
	Site     *manifest.Site
	Decision policy.Decision
	// HeldUntil is when a tag held for its minimum age may be used (zero:
	// not held for age, or the time is unknown).
	HeldUntil time.Time
	// PinDigest is set when the image's rule pins digests (images[].pinDigest).
	PinDigest bool
}

// Match finds every site of the pushed repository — by the canonical name
// of (ev.Registry, ev.Repository) and of each of ev.HostAliases with the
// same repository — and decides each by its policy (automation, lock,
// filter, newer-never-older). Skips are included, with their reasons; only
// outcomes with Decision.Update become rewrites. times
// may be nil (no push history: the pushed tag counts as the newest); ctx
// bounds its lookups.
func Match(ctx context.Context, idx *Index, ev bus.PushEvent, times policy.TagTimes) []Outcome {
	return MatchRules(ctx, idx, ev, times, nil)
}

// MatchRules is Match with the images[] rules: a site whose image's rule
// pins digests (pinDigest) is decided as if it pinned one. A Flux v2 marker
// site follows its ImagePolicy instead. rules may be nil (no rules).
func MatchRules(ctx context.Context, idx *Index, ev bus.PushEvent, times policy.TagTimes, rules *imagerules.Rules) []Outcome {
	c := policy.Candidate{Tag: ev.Tag, Digest: ev.Digest, PushedAt: ev.PushedAt}
	decide := func(s *manifest.Site) Outcome {
		c := c
		c.PinDigest = s.Flux == nil && rules.For(s.Ref.Canonical()).PinDigest
		return Outcome{Site: s, Decision: policy.Decide(ctx, *s, c, times), PinDigest: c.PinDigest}
	}
	primary := imageref.Canonical(ev.Registry, ev.Repository)
	sites := idx.Lookup(primary)
	out := make([]Outcome, 0, len(sites))
	for _, s := range sites {
		out = append(out, decide(s))
	}
	for i, alias := range ev.HostAliases {
		key := imageref.Canonical(alias, ev.Repository)
		if key == primary || seenAlias(ev.HostAliases[:i], key, ev.Repository) {
			continue
		}
		for _, s := range idx.Lookup(key) {
			out = append(out, decide(s))
		}
	}
	return out
}

// seenAlias reports whether an earlier alias already named the same key.
func seenAlias(earlier []string, key, repository string) bool {
	for _, a := range earlier {
		if imageref.Canonical(a, repository) == key {
			return true
		}
	}
	return false
}
