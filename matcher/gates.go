package matcher

import (
	"context"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/policy"
)

// HoldStore keeps, per site, the tag hoist last wrote and the hold a
// person's rollback put on the site (bus.Holds).
type HoldStore interface {
	Get(ctx context.Context, s bus.Site) (bus.SiteRecord, bool, error)
	Hold(ctx context.Context, s bus.Site, written, rolledBackTo, commit string, now time.Time) (bool, error)
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
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	var res GateResult
	ctx, cancel := context.WithTimeout(ctx, gateTimeout)
	defer cancel()
	for i := range outs {
		o := &outs[i]
		if !o.Decision.Update {
			continue
		}
		site := *o.Site
		cand := policy.Candidate{Tag: o.Decision.New.Tag, Digest: ev.Digest, PushedAt: ev.PushedAt}
		if g.Holds != nil {
			s := bus.Site{Repo: repo, Branch: branch, File: site.File, Resource: site.Resource.String(), Container: site.Container}
			rec, ok, err := g.Holds.Get(ctx, s)
			if err != nil {
				o.skip(policy.CodeHeld, "cannot read the site's hold (tried again): "+err.Error())
				res.Retry = true
				continue
			}
			if ok && rec.For(site.Ref.Canonical()) && policy.RolledBack(site, site.Ref, rec.Written, g.Times) {
				if pass, why := policy.PassesHold(site, cand, rec.Written, g.Times); !pass {
					o.skip(policy.CodeHeld, why+" (or hoist hold release)")
					if changed, _ := g.Holds.Hold(ctx, s, rec.Written, site.Ref.Tag, "", now()); changed && g.OnHold != nil {
						rec.Held, rec.RolledBackTo = true, site.Ref.Tag
						g.OnHold(rec)
					}
					continue
				}
			}
		}
		var ruleAge time.Duration
		if g.Rules != nil {
			ruleAge = g.Rules.For(site.Ref.Canonical()).MinAge
		}
		minAge, err := policy.MinAge(site, ruleAge)
		if err != nil {
			o.skip(policy.CodeTooYoung, "minimum age annotation: "+err.Error()+"; held until it is fixed")
			continue
		}
		if minAge <= 0 {
			continue
		}
		var seen time.Time
		known := false
		if g.Times != nil {
			seen, known = g.Times.FirstSeen(site.Ref.Canonical(), cand.Tag)
		}
		age := policy.CheckAge(cand.Tag, minAge, seen, known, now())
		if !age.Held {
			continue
		}
		o.skip(policy.CodeTooYoung, age.Reason)
		o.HeldUntil = age.Until
		res.Retry = true
		if !age.Until.IsZero() && (res.Until.IsZero() || age.Until.Before(res.Until)) {
			res.Until = age.Until
		}
	}
	return res
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
