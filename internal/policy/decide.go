package policy

import (
	"context"
	"strings"
	"time"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/manifest"
)

// Candidate is a pushed tag (and digest) that might replace a site's current one.
type Candidate struct {
	Tag    string
	Digest string
	// PushedAt is when the registry says the tag was pushed; zero when unknown.
	PushedAt time.Time
	// PinDigest makes a site that does not pin a digest yet pin Digest
	// (the image's rule says pinDigest): it then decides like a pinned site.
	PinDigest bool
}

// TagTimes supplies the first-seen time of a repository's tags, so glob and
// regexp filters can order tags by push time. canonicalRepo
// is imageref.Canonical of the repository. A nil TagTimes means no history:
// a pushed tag then counts as the newest. A lookup is bounded by ctx (the
// times may live on a server that is slow or down); one that fails or runs
// out of time reports the tag as unknown.
type TagTimes interface {
	FirstSeen(ctx context.Context, canonicalRepo, tag string) (time.Time, bool)
}

// Code classifies a decision; it is stable and low-cardinality, fit for
// metric labels and tests. Reason carries the sentence for people.
type Code string

// Decision codes.
const (
	CodeUpdate         Code = "update"          // the site should move to New
	CodeNotAutomated   Code = "not-automated"   // resource not automated
	CodeLocked         Code = "locked"          // resource locked
	CodeIgnored        Code = "ignored"         // resource ignored
	CodeInvalidFilter  Code = "invalid-filter"  // the container's filter does not parse
	CodeNoTag          Code = "no-tag"          // the push carries no tag
	CodeExcludedTag    Code = "excluded-tag"    // latest, or a signature/attestation tag
	CodeFilterMismatch Code = "filter-mismatch" // the tag does not match the filter
	CodeNotNewer       Code = "not-newer"       // the tag is not newer than the current one
	CodeSame           Code = "same"            // the site already reads the pushed value
	CodeNoDigest       Code = "no-digest"       // the site pins a digest and the push has none
	CodeReadOnly       Code = "read-only"       // the site would update but cannot be edited in place
)

// Decision is what a push of a candidate means for one site.
type Decision struct {
	// Update is true when the site should be rewritten to New.
	Update bool
	// Code classifies the decision; CodeUpdate when Update.
	Code Code
	// Current is the site's reference as written now.
	Current imageref.Reference
	// New is the reference the site would read afterwards, in the same
	// spelling as Current; zero unless Update.
	New imageref.Reference
	// Reason explains the decision to people.
	Reason string
}

// Excluded reports why tag may never be chosen under f, or "" when it may:
// latest (any case) unless the filter is exactly latest, and the tags
// Sigstore derives from a digest (signatures, attestations, SBOMs, the
// referrers tag: imageref.CosignTag).
func Excluded(tag string, f Filter) string {
	if strings.EqualFold(tag, "latest") && !f.AllowsLatest() {
		return "tag " + tag + " is never chosen (only a filter of exactly latest allows it)"
	}
	if _, _, ok := imageref.CosignTag(tag); ok {
		return "tag " + tag + " is a signature/attestation tag"
	}
	return ""
}

// Decide says whether a push of candidate c should update site:
// policy, excluded tags, filter, newer-never-older, same value, digests.
// A Flux v2 marker site is decided by its ImagePolicy instead (see
// decideMarker). A site the parser marked read-only is skipped when it would otherwise
// update, with the parser's reason.
func Decide(ctx context.Context, site manifest.Site, c Candidate, times TagTimes) Decision {
	var d Decision
	if site.Flux != nil {
		d = decideMarker(site, c)
	} else {
		d = decide(ctx, site, c, times)
	}
	if d.Update && site.ReadOnly != "" {
		return Decision{Code: CodeReadOnly, Current: d.Current, Reason: "cannot edit this site in place: " + site.ReadOnly}
	}
	return d
}

func decide(ctx context.Context, site manifest.Site, c Candidate, times TagTimes) Decision {
	cur := site.Ref
	skip := func(code Code, reason string) Decision {
		return Decision{Code: code, Current: cur, Reason: reason}
	}
	switch {
	case !site.Policy.Automated:
		return skip(CodeNotAutomated, "resource is not automated")
	case site.Policy.Locked:
		return skip(CodeLocked, "resource is locked")
	case site.Policy.Ignored:
		return skip(CodeIgnored, "resource is ignored")
	}
	f, err := CachedFilter(site.Policy.Filter)
	if err != nil {
		return skip(CodeInvalidFilter, err.Error())
	}
	if c.Tag == "" {
		return skip(CodeNoTag, "the push carries no tag (digest-only push)")
	}
	if why := Excluded(c.Tag, f); why != "" {
		return skip(CodeExcludedTag, why)
	}
	if !f.Match(c.Tag) {
		return skip(CodeFilterMismatch, "tag "+c.Tag+" does not match filter "+f.String())
	}
	pinned := cur.Digest != "" || c.PinDigest
	if c.Tag == cur.Tag {
		if !pinned || c.Digest == cur.Digest {
			return skip(CodeSame, "already at "+cur.String())
		}
		if c.Digest == "" {
			return skip(CodeNoDigest, "site pins a digest and the push of "+c.Tag+" carries none")
		}
		next := cur
		next.Digest = c.Digest
		why := "same tag " + c.Tag + " re-pushed with a new digest"
		if cur.Digest == "" {
			why = "the image's rule pins digests: " + c.Digest + " added to tag " + c.Tag
		}
		return Decision{Update: true, Code: CodeUpdate, Current: cur, New: next, Reason: why}
	}
	if pinned && c.Digest == "" {
		return skip(CodeNoDigest, "site pins a digest and the push of "+c.Tag+" carries none")
	}
	why, ok := newer(ctx, f, cur, c, times)
	if !ok {
		return skip(CodeNotNewer, why)
	}
	next := cur
	next.Tag = c.Tag
	if pinned {
		next.Digest = c.Digest
	}
	return Decision{Update: true, Code: CodeUpdate, Current: cur, New: next, Reason: why}
}

// newer reports whether candidate c is newer than the current reference
// under filter f (semver order, or push order for glob and regexp), with the
// reason either way.
func newer(ctx context.Context, f Filter, cur imageref.Reference, c Candidate, times TagTimes) (string, bool) {
	if cur.Tag == "" {
		return "current image has no tag; " + c.Tag + " matches " + f.String(), true
	}
	if f.Kind == Semver {
		cv, err := parseVersion(c.Tag)
		if err != nil {
			return "tag " + c.Tag + " is not a semantic version", false
		}
		curV, err := parseVersion(cur.Tag)
		if err != nil {
			return "current tag " + cur.Tag + " is not a semantic version; " + c.Tag + " matches " + f.String(), true
		}
		if cv.GreaterThan(curV) {
			return c.Tag + " is a higher version than " + cur.Tag, true
		}
		return c.Tag + " is not a higher version than current " + cur.Tag, false
	}
	if times == nil {
		return "no push history; " + c.Tag + " counts as the newest", true
	}
	canon := cur.Canonical()
	curAt, ok := times.FirstSeen(ctx, canon, cur.Tag)
	if !ok {
		return "current tag " + cur.Tag + " has no known push time; " + c.Tag + " counts as newer", true
	}
	candAt := pushTime(ctx, c, canon, times)
	if candAt.IsZero() {
		return "push time of " + c.Tag + " unknown; it counts as the newest", true
	}
	switch {
	case curAt.After(candAt):
		return "current tag " + cur.Tag + " was pushed after " + c.Tag, false
	case curAt.Equal(candAt):
		if c.Tag < cur.Tag {
			return c.Tag + " was pushed at the same time as " + cur.Tag + " and sorts first", true
		}
		return "current tag " + cur.Tag + " was pushed at the same time as " + c.Tag + " and sorts first", false
	}
	return c.Tag + " was pushed after current tag " + cur.Tag, true
}

// pushTime is the candidate's push time for ordering: its first-seen time
// when history knows an earlier one (a re-push of an old tag stays old),
// else PushedAt.
func pushTime(ctx context.Context, c Candidate, canon string, times TagTimes) time.Time {
	at := c.PushedAt
	if times != nil {
		if seen, ok := times.FirstSeen(ctx, canon, c.Tag); ok && (at.IsZero() || seen.Before(at)) {
			at = seen
		}
	}
	return at
}

// newerCandidate reports whether candidate a should win over b when both are
// approved for the same site in one batch. Semver filters order
// by version; glob and regexp filters by push time. Ties go to the lexically
// smaller tag (as Flux v1); the same tag pushed twice goes to the later push.
func newerCandidate(f Filter, a, b Candidate) bool {
	if a.Tag == b.Tag {
		return a.PushedAt.After(b.PushedAt)
	}
	if f.Kind == Semver {
		av, aerr := parseVersion(a.Tag)
		bv, berr := parseVersion(b.Tag)
		switch {
		case aerr != nil && berr != nil:
			return a.Tag < b.Tag
		case aerr != nil:
			return false
		case berr != nil:
			return true
		}
		if cmp := av.Compare(bv); cmp != 0 {
			return cmp > 0
		}
		return a.Tag < b.Tag
	}
	if !a.PushedAt.Equal(b.PushedAt) {
		return a.PushedAt.After(b.PushedAt)
	}
	return a.Tag < b.Tag
}
