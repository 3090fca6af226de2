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

// HoldStore keeps, per site, the tag hoist last wrote and the hold a
// person's rollback put on the site (bus.Holds).
type HoldStore interface {
	Get(ctx context.Context, s bus.Site) (bus.SiteRecord, bool, error)
	Hold(ctx context.Context, s bus.Site, written, rolledBackTo, commit string, now time.Time) (bool, error)
	// Pending, SetPending and ClearPending keep the newest tag held for its
	// minimum age at each site, which replaces an older one coming of age.
	Pending(ctx context.Context, s bus.Site) (bus.Pending, uint64, bool, error)
	SetPending(ctx context.Context, p bus.Pending, rev uint64) (bool, error)
	ClearPending(ctx context.Context, s bus.Site, rev uint64) error
}

// Gates stop updates Decide approved: a tag younger than the site's
// minimum age, and a tag no newer than the one a person rolled the site
// back from. Every field may be nil.
type Gates struct {
	// Rules give the images[] minimum age of a repository.
	Rules *imagerules.Rules
	// Times are the tags' first-seen times; nil: unknown, so any minimum
	// age holds.
	Times policy.TagTimes
	// Holds are the sites' last written tags and holds; nil: none known.
	Holds HoldStore
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// OnHold is told of each hold a push meets for the first time (nil: nobody).
	OnHold func(bus.SiteRecord)
}

// GateResult is what the gates did to one push's outcomes.
type GateResult struct {
	// Retry is set when an outcome waits for its minimum age, or on a hold
	// store that could not be read: the push must be decided again, at
	// Until when it is set.
	Retry bool
	// Until is the earliest time a held outcome becomes old enough (zero
	// when unknown).
	Until time.Time
}

// gateTimeout bounds the hold store lookups of one push.
const gateTimeout = 5 * time.Second

// Apply runs the gates on the approved outcomes of repository repo (branch
// branch) for push ev, turning a held one into a skip with its reason;
// Outcome.HeldUntil says until when a minimum age holds it.
func (g Gates) Apply(ctx context.Context, repo, branch string, ev bus.PushEvent, outs []Outcome) GateResult {
	if g.Now == nil {
		g.Now = time.Now
	}
	var res GateResult
	ctx, cancel := context.WithTimeout(ctx, gateTimeout)
	defer cancel()
	for i := range outs {
		o := &outs[i]
		if !o.Decision.Update {
			continue
		}
		s := SiteOf(repo, branch, o.Site)
		cand := policy.Candidate{Tag: o.Decision.New.Tag, Digest: ev.Digest, PushedAt: ev.PushedAt}
		if !g.rollbackGate(ctx, s, o, cand, &res) {
			g.ageGate(ctx, s, o, cand, &res)
		}
	}
	return res
}

// rollbackGate holds o when a person set its site back from the tag hoist
// wrote there and cand is not newer than that tag; it reports whether it
// held o. A hold store that cannot be read holds o, to be tried again.
//
// Only a hold already found in the repository's history counts here
// (checkHolds marks it when the index takes in a person's commit): the
// index may not have taken in hoist's own latest commit yet, and a site
// that still reads the value from before it is no rollback. A rollback the
// index has not seen yet is caught by the committer's re-check, which
// compares the record with the file at the branch head.
func (g Gates) rollbackGate(ctx context.Context, s bus.Site, o *Outcome, cand policy.Candidate, res *GateResult) bool {
	if g.Holds == nil {
		return false
	}
	site := *o.Site
	rec, ok, err := g.Holds.Get(ctx, s)
	if err != nil {
		o.skip(policy.CodeHeld, "cannot read the site's hold (tried again): "+err.Error())
		res.Retry = true
		return true
	}
	if !ok || !rec.Held || !rec.For(site.Ref.Canonical()) || !policy.RolledBack(ctx, site, site.Ref, rec.Written, g.Times) {
		return false
	}
	pass, why := policy.PassesHold(ctx, site, cand, rec.Written, g.Times)
	if pass {
		return false
	}
	o.skip(policy.CodeHeld, why+" (or hoist hold release)")
	return true
}

// ageGate holds o while cand is younger than its site's minimum age (the
// push is then to be decided again at res.Until), and drops it when a newer
// tag held for its age will replace it.
func (g Gates) ageGate(ctx context.Context, s bus.Site, o *Outcome, cand policy.Candidate, res *GateResult) {
	site := *o.Site
	var ruleAge time.Duration
	if g.Rules != nil {
		ruleAge = g.Rules.For(site.Ref.Canonical()).MinAge
	}
	minAge, err := policy.MinAge(site, ruleAge)
	if err != nil {
		o.skip(policy.CodeTooYoung, "minimum age annotation: "+err.Error()+"; held until it is fixed")
		return
	}
	if minAge <= 0 {
		return
	}
	var seen time.Time
	known := false
	if g.Times != nil {
		seen, known = g.Times.FirstSeen(ctx, site.Ref.Canonical(), cand.Tag)
	}
	age := policy.CheckAge(cand.Tag, minAge, seen, known, g.Now())
	if !age.Held {
		if why := g.superseded(ctx, s, site, cand.Tag); why != "" {
			o.skip(policy.CodeSuperseded, why)
		}
		return
	}
	g.notePending(ctx, s, site, cand.Tag, age.Until)
	o.skip(policy.CodeTooYoung, age.Reason)
	o.HeldUntil = age.Until
	*res = res.merge(GateResult{Retry: true, Until: age.Until})
}

// skip turns an approved outcome into a skip with code and reason.
func (o *Outcome) skip(code policy.Code, reason string) {
	o.Decision.Update = false
	o.Decision.Code = code
	o.Decision.Reason = reason
	o.Decision.New = imageref.Reference{}
}

// merge combines the results of two repositories' outcomes.
func (g GateResult) merge(o GateResult) GateResult {
	g.Retry = g.Retry || o.Retry
	if !o.Until.IsZero() && (g.Until.IsZero() || o.Until.Before(g.Until)) {
		g.Until = o.Until
	}
	return g
}

// notePending records tag as the site's pending tag unless a newer one is
// pending already (best effort: a lost record only lets an older tag that
// comes of age first be written before this one).
func (g Gates) notePending(ctx context.Context, s bus.Site, site manifest.Site, tag string, until time.Time) {
	if g.Holds == nil {
		return
	}
	for range 3 { // compare and swap, retried when another push won
		p, rev, ok, err := g.Holds.Pending(ctx, s)
		if err != nil || ok && (p.Tag == tag || policy.NewerTag(ctx, site, p.Tag, tag, g.Times)) {
			return
		}
		if set, err := g.Holds.SetPending(ctx, bus.Pending{Site: s, Tag: tag, Until: until}, rev); set || err != nil {
			return
		}
	}
}

// superseded says why tag, old enough now, is not written: a newer tag is
// held for its minimum age at the site and will replace it. A tag that is
// the pending one clears it.
func (g Gates) superseded(ctx context.Context, s bus.Site, site manifest.Site, tag string) string {
	if g.Holds == nil {
		return ""
	}
	p, rev, ok, err := g.Holds.Pending(ctx, s)
	switch {
	case err != nil || !ok:
		return ""
	case p.Tag == tag:
		_ = g.Holds.ClearPending(ctx, s, rev)
		return ""
	case policy.NewerTag(ctx, site, p.Tag, tag, g.Times):
		why := "superseded by " + p.Tag + ", a newer tag held for its minimum age"
		if !p.Until.IsZero() {
			why += " until " + p.Until.UTC().Format(time.RFC3339)
		}
		return why
	}
	return ""
}
