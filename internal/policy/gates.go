package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/manifest"
)

// Decision codes of the gates, which may stop an update Decide approved.
const (
	CodeTooYoung Code = "too-young" // the tag is younger than the site's minimum age
	CodeHeld     Code = "held"      // a person rolled the site back; only a newer tag is used
)

// MinAge is the minimum age that applies to a site: its
// hoist.dev/min-age.<container> annotation when it has one (0 there turns a
// rule's minimum off), else ruleAge (the images[] rule of its repository).
// An annotation that does not parse is an error: the caller holds the
// site rather than ignore what was meant to stop an update.
func MinAge(site manifest.Site, ruleAge time.Duration) (time.Duration, error) {
	if site.Policy.MinAge == "" {
		return ruleAge, nil
	}
	d, err := manifest.ParseAge(site.Policy.MinAge)
	if err == nil && d > imagerules.MaxMinAge {
		err = fmt.Errorf("%s is longer than %s, the longest hoist can hold a push", site.Policy.MinAge, imagerules.MaxMinAge)
	}
	return d, err
}

// AgeGate is what a minimum age says about a candidate.
type AgeGate struct {
	// Held is true when the candidate may not be used yet.
	Held bool
	// Until is when it may be used; zero when that is unknown (no
	// first-seen time, or an annotation that does not parse).
	Until time.Time
	// Reason explains a hold to people.
	Reason string
}

// CheckAge decides whether tag, first seen at seen (known false: hoist has
// no first-seen time for it), is old enough for minAge at now. Without a
// first-seen time the tag is held: its age cannot be told.
func CheckAge(tag string, minAge time.Duration, seen time.Time, known bool, now time.Time) AgeGate {
	if minAge <= 0 {
		return AgeGate{}
	}
	if !known {
		return AgeGate{Held: true, Reason: fmt.Sprintf("minimum age %s: the first-seen time of %s is unknown, so it is not used", minAge, tag)}
	}
	until := seen.Add(minAge)
	if now.Before(until) {
		return AgeGate{Held: true, Until: until,
			Reason: fmt.Sprintf("minimum age %s: %s was first seen at %s; held until %s", minAge, tag, seen.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))}
	}
	return AgeGate{}
}

// PassesHold reports whether candidate c may be applied to a site that a
// person rolled back from the tag heldFrom: only a tag strictly newer than
// heldFrom under the site's filter order (semver, or push order for glob
// and regexp) passes, and releases the hold. The reason says why either way.
func PassesHold(ctx context.Context, site manifest.Site, c Candidate, heldFrom string, times TagTimes) (bool, string) {
	if c.Tag == heldFrom {
		return false, "held: the site was rolled back from " + heldFrom + "; only a tag newer than it is used"
	}
	f, err := CachedFilter(site.Policy.Filter)
	if err != nil {
		return false, err.Error()
	}
	from := site.Ref
	from.Tag, from.Digest = heldFrom, ""
	why, ok := newer(ctx, f, from, c, times)
	if !ok {
		return false, "held: the site was rolled back from " + heldFrom + "; " + why
	}
	return true, "releases the hold: " + why
}

// RolledBack reports whether a site reading cur was set back from written
// (the value hoist last wrote there): written is newer than cur under the
// site's filter order. A push time that cannot be told counts as newer, so
// an unknown order holds rather than overrides a person.
func RolledBack(ctx context.Context, site manifest.Site, cur imageref.Reference, written string, times TagTimes) bool {
	if written == "" || cur.Tag == written {
		return false
	}
	f, err := CachedFilter(site.Policy.Filter)
	if err != nil {
		return false
	}
	_, ok := newer(ctx, f, cur, Candidate{Tag: written}, times)
	return ok
}

// CodeSuperseded: a tag that came of age loses to a newer one still held
// for its minimum age at the same site.
const CodeSuperseded Code = "superseded"

// NewerTag reports whether tag a is newer than tag b under the site's
// filter order (semver, or push order for glob and regexp; a push time
// that cannot be told counts as newer).
func NewerTag(ctx context.Context, site manifest.Site, a, b string, times TagTimes) bool {
	if a == b {
		return false
	}
	f, err := CachedFilter(site.Policy.Filter)
	if err != nil {
		return false
	}
	ref := site.Ref
	ref.Tag, ref.Digest = b, ""
	_, ok := newer(ctx, f, ref, Candidate{Tag: a}, times)
	return ok
}
