package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"github.com/hoist-gitops/hoist/internal/manifest"
)

// Decision codes of Flux v2 marker sites.
const (
	CodeUnresolved Code = "unresolved-marker" // the marker's policy or repository is missing or invalid
	CodeNameOnly   Code = "marker-name-only"  // the site marks only the repository name
	CodeNoTagPlace Code = "no-tag-place"      // the site marks a digest but no tag
)

// FluxPolicy is a compiled Flux v2 ImagePolicy: its tag filter and order.
type FluxPolicy struct {
	// Spec is the policy as read from the repository.
	Spec manifest.ImagePolicy

	re         *regexp.Regexp
	constraint *semver.Constraints
}

// fluxCache holds compiled policies by their JSON-free key (every field
// that changes the meaning); bounded like the filter cache.
var fluxCache = struct {
	sync.RWMutex
	m map[manifest.ImagePolicy]fluxCached
}{m: map[manifest.ImagePolicy]fluxCached{}}

type fluxCached struct {
	p   *FluxPolicy
	err error
}

// compileFluxPolicy compiles an ImagePolicy's filter and order, with a
// process-wide cache. An invalid policy is an error.
func compileFluxPolicy(spec manifest.ImagePolicy) (*FluxPolicy, error) {
	key := spec
	key.File, key.Line, key.Invalid = "", 0, ""
	fluxCache.RLock()
	c, ok := fluxCache.m[key]
	fluxCache.RUnlock()
	if ok {
		return c.p, c.err
	}
	p, err := compileFlux(key)
	fluxCache.Lock()
	if len(fluxCache.m) >= maxCachedFilters {
		fluxCache.m = map[manifest.ImagePolicy]fluxCached{}
	}
	fluxCache.m[key] = fluxCached{p, err}
	fluxCache.Unlock()
	return p, err
}

func compileFlux(spec manifest.ImagePolicy) (*FluxPolicy, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ImagePolicy %s: %w", spec.Key(), err)
	}
	p := &FluxPolicy{Spec: spec}
	if spec.Pattern != "" {
		p.re = regexp.MustCompile(spec.Pattern) // Validate compiled it
	}
	if spec.Order == manifest.OrderSemver {
		c, err := semver.NewConstraint(spec.Range)
		if err != nil {
			return nil, fmt.Errorf("ImagePolicy %s: %w", spec.Key(), err)
		}
		p.constraint = c
	}
	return p, nil
}

// Value is what the policy orders a tag by: the tag itself, or with
// filterTags the expansion of extract over the pattern's match (Go
// regexp.Expand: $1, ${1}, $name, ${name}), as Flux does. ok is false when
// the tag does not match the pattern.
func (p *FluxPolicy) Value(tag string) (string, bool) {
	if p.re == nil {
		return tag, true
	}
	m := p.re.FindStringSubmatchIndex(tag)
	if m == nil {
		return "", false
	}
	if p.Spec.Extract == "" {
		return tag, true
	}
	return string(p.re.ExpandString(nil, p.Spec.Extract, tag, m)), true
}

// Admits reports whether tag is one the policy may choose: it matches the
// filter, and its value is a version in the semver range or a number for a
// numerical order. It says why not.
func (p *FluxPolicy) Admits(tag string) (string, bool) {
	v, ok := p.Value(tag)
	if !ok {
		return "tag " + tag + " does not match filterTags.pattern " + p.Spec.Pattern, false
	}
	what := "tag " + tag
	if v != tag {
		what += " (extracted " + v + ")"
	}
	switch p.Spec.Order {
	case manifest.OrderSemver:
		ver, err := fluxVersion(v)
		if err != nil {
			return what + " is not a semantic version", false
		}
		if !p.constraint.Check(ver) {
			return what + " is not in range " + p.Spec.Range, false
		}
	case manifest.OrderNumerical:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return what + " is not a number", false
		}
	}
	return "", true
}

// Later reports whether admitted tag a comes later than b in the policy's
// order: a greater version, a later string (alphabetical asc; earlier for
// desc), a greater number (numerical asc; smaller for desc). A b the order
// cannot place (not matching the filter, not a version or number) counts
// as earlier than any admitted tag, as Flux would replace it.
func (p *FluxPolicy) Later(a, b string) bool {
	av, _ := p.Value(a)
	bv, ok := p.Value(b)
	if !ok {
		return true
	}
	switch p.Spec.Order {
	case manifest.OrderSemver:
		x, err := fluxVersion(av)
		if err != nil {
			return false
		}
		y, err := fluxVersion(bv)
		if err != nil {
			return true
		}
		return x.GreaterThan(y)
	case manifest.OrderNumerical:
		x, err := strconv.ParseFloat(av, 64)
		if err != nil {
			return false
		}
		y, err := strconv.ParseFloat(bv, 64)
		if err != nil {
			return true
		}
		if p.Spec.Descending {
			return x < y
		}
		return x > y
	}
	if p.Spec.Descending {
		return av < bv
	}
	return av > bv
}

// fluxVersion parses a version as Flux's semver policy does: Masterminds
// semver (a v prefix and leading zeros allowed), but only with all three
// of major, minor and patch written (5.0 and 7 are not versions to Flux).
func fluxVersion(v string) (*semver.Version, error) {
	if len(strings.SplitN(v, ".", 3)) != 3 {
		return nil, semver.ErrInvalidSemVer
	}
	return semver.NewVersion(v)
}

// orderWord describes the order for reasons.
func (p *FluxPolicy) orderWord() string {
	switch p.Spec.Order {
	case manifest.OrderSemver:
		return "a higher version"
	case manifest.OrderNumerical:
		if p.Spec.Descending {
			return "a smaller number (numerical desc)"
		}
		return "a greater number (numerical asc)"
	}
	if p.Spec.Descending {
		return "earlier in alphabetical desc order"
	}
	return "later in alphabetical order"
}

// markerParts says which parts a marker site marks.
func markerParts(site manifest.Site) (whole, tag, digest bool) {
	_, whole = site.Flux.Parts[manifest.RoleImage]
	_, tag = site.Flux.Parts[manifest.RoleTag]
	_, digest = site.Flux.Parts[manifest.RoleDigest]
	return whole, tag, digest
}

// decideMarker decides a push for a Flux v2 marker site: the pushed tag
// must pass the ImagePolicy's filter and come later in its order than the
// tag the site holds (never older); a :digest marker takes the pushed
// digest, and with digestReflectionPolicy Always a re-push of the same tag
// moves it.
func decideMarker(site manifest.Site, c Candidate) Decision {
	cur := site.Ref
	skip := func(code Code, reason string) Decision {
		return Decision{Code: code, Current: cur, Reason: reason}
	}
	if !site.Flux.Resolved {
		why := site.ReadOnly
		if why == "" {
			why = "marker not resolved against ImagePolicy " + site.Flux.Namespace + "/" + site.Flux.Name
		}
		return skip(CodeUnresolved, why)
	}
	whole, tag, digest := markerParts(site)
	switch {
	case !whole && !tag && digest:
		return skip(CodeNoTagPlace, "the site marks a digest but no tag, so hoist cannot tell whether a push is later; mark the tag too")
	case !whole && !tag:
		return skip(CodeNameOnly, "the site marks only the repository name, which hoist never changes")
	}
	p, err := compileFluxPolicy(site.Flux.Policy)
	if err != nil {
		return skip(CodeInvalidFilter, err.Error())
	}
	// From here on every reason names the policy it was decided by.
	skip = func(code Code, reason string) Decision {
		return Decision{Code: code, Current: cur, Reason: reason + " (" + site.Flux.Policy.Describe() + ")"}
	}
	if c.Tag == "" {
		return skip(CodeNoTag, "the push carries no tag (digest-only push)")
	}
	if _, _, ok := imageref.CosignTag(c.Tag); ok {
		return skip(CodeExcludedTag, "tag "+c.Tag+" is a signature/attestation tag")
	}
	if why, ok := p.Admits(c.Tag); !ok {
		return skip(CodeFilterMismatch, why)
	}
	// A :digest marker, or a whole image under a policy reflecting
	// digests, takes the pushed digest (Flux writes name:tag@digest).
	pinned := cur.Digest != "" || digest || whole && p.Spec.ReflectsDigest()
	if c.Tag == cur.Tag {
		switch {
		case !pinned || c.Digest == cur.Digest:
			return skip(CodeSame, "already at "+cur.String())
		case c.Digest == "":
			return skip(CodeNoDigest, "site pins a digest and the push of "+c.Tag+" carries none")
		case cur.Digest != "" && p.Spec.DigestReflection == manifest.DigestIfNotPresent:
			return skip(CodeSame, "already at "+cur.String()+" (digestReflectionPolicy IfNotPresent keeps a tag's first digest)")
		}
		next := cur
		next.Digest = c.Digest
		return Decision{Update: true, Code: CodeUpdate, Current: cur, New: next,
			Reason: "same tag " + c.Tag + " re-pushed with a new digest"}
	}
	if pinned && c.Digest == "" {
		return skip(CodeNoDigest, "site pins a digest and the push of "+c.Tag+" carries none")
	}
	if cur.Tag != "" && !p.Later(c.Tag, cur.Tag) {
		return skip(CodeNotNewer, c.Tag+" is not "+p.orderWord()+" than current "+cur.Tag)
	}
	next := cur
	next.Tag = c.Tag
	if pinned {
		next.Digest = c.Digest
	}
	return Decision{Update: true, Code: CodeUpdate, Current: cur, New: next,
		Reason: c.Tag + " is " + p.orderWord() + " than " + orEmpty(cur.Tag) + " (" + site.Flux.Policy.Describe() + ")"}
}

func orEmpty(tag string) string {
	if tag == "" {
		return "no tag"
	}
	return tag
}

// markerNewer reports whether candidate a should win over b for the same
// marker site in one batch: later in the policy's order; ties go to the
// lexically smaller tag; the same tag pushed twice goes to the later push.
func markerNewer(spec manifest.ImagePolicy, a, b Candidate) bool {
	if a.Tag == b.Tag {
		return a.PushedAt.After(b.PushedAt)
	}
	p, err := compileFluxPolicy(spec)
	if err != nil {
		return a.Tag < b.Tag
	}
	if p.Later(a.Tag, b.Tag) {
		return true
	}
	if p.Later(b.Tag, a.Tag) {
		return false
	}
	return a.Tag < b.Tag
}
