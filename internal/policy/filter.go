// Package policy decides whether a pushed image tag should replace the one an
// image site holds (never older), and re-checks approved rewrites against a
// file before they are written (a person's commit wins). It is pure: values in, decisions out.
package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/gobwas/glob"
)

// Kind is the kind of tag pattern a filter holds.
type Kind int

// Filter kinds, by the prefix of the pattern.
const (
	Glob   Kind = iota // glob:<pattern>, or a bare pattern
	Semver             // semver:<constraint>
	Regexp             // regexp:<re> or regex:<re>
)

// String names the kind as its prefix does, without the colon.
func (k Kind) String() string {
	switch k {
	case Semver:
		return "semver"
	case Regexp:
		return "regexp"
	}
	return "glob"
}

// Filter is a parsed tag pattern: which tags a container may move to.
type Filter struct {
	// Kind is glob, semver or regexp.
	Kind Kind
	// Pattern is the pattern without its prefix, surrounding whitespace trimmed.
	Pattern string
	// Raw is the pattern exactly as written in the annotation.
	Raw string

	glob       *glob.Pattern
	constraint *semver.Constraints
	re         *regexp.Regexp
}

// Prefixes a filter pattern may start with; a bare pattern is a glob.
const (
	globPrefix      = "glob:"
	semverPrefix    = "semver:"
	regexpPrefix    = "regexp:"
	regexpAltPrefix = "regex:"
)

// tagChars are the characters a tag may hold; a glob needing any
// other character can never match.
const tagChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

// ParseFilter parses a filter annotation's value. The empty pattern means
// glob:*. Whitespace around the pattern and after the prefix is ignored (no
// tag can contain whitespace, so "glob: *" means "glob:*"; Flux v1 would have
// read it as a glob that matches nothing). An invalid semver constraint or
// regexp, an empty pattern after a prefix, or a glob that can never match a
// tag is an error: a container with an invalid filter is not automated
// (Flux v1 would have matched every tag).
func ParseFilter(pattern string) (Filter, error) {
	f := Filter{Raw: pattern}
	p := strings.TrimSpace(pattern)
	if p == "" {
		f.Kind, f.Pattern = Glob, "*"
		f.glob = compileGlob("*")
		return f, nil
	}
	var prefix string
	switch {
	case strings.HasPrefix(p, semverPrefix):
		f.Kind, prefix = Semver, semverPrefix
	case strings.HasPrefix(p, regexpPrefix):
		f.Kind, prefix = Regexp, regexpPrefix
	case strings.HasPrefix(p, regexpAltPrefix):
		f.Kind, prefix = Regexp, regexpAltPrefix
	case strings.HasPrefix(p, globPrefix):
		f.Kind, prefix = Glob, globPrefix
	default:
		f.Kind = Glob
	}
	f.Pattern = strings.TrimSpace(p[len(prefix):])
	if f.Pattern == "" {
		return Filter{}, fmt.Errorf("filter %q: empty %s pattern", pattern, f.Kind)
	}
	switch f.Kind {
	case Semver:
		c, err := semver.NewConstraint(f.Pattern)
		if err != nil {
			return Filter{}, fmt.Errorf("filter %q: invalid semver constraint: %w", pattern, err)
		}
		f.constraint = c
	case Regexp:
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			return Filter{}, fmt.Errorf("filter %q: invalid regexp: %w", pattern, err)
		}
		f.re = re
	default:
		if i := strings.IndexFunc(f.Pattern, func(r rune) bool {
			return r != '*' && !strings.ContainsRune(tagChars, r)
		}); i >= 0 {
			r := []rune(f.Pattern[i:])[0]
			hint := ""
			if r == ':' {
				hint = " (a misspelt prefix? use glob:, semver:, regexp: or regex:)"
			}
			return Filter{}, fmt.Errorf("filter %q: glob can never match a tag: %q is not allowed in tags%s", pattern, r, hint)
		}
		f.glob = compileGlob(f.Pattern)
	}
	return f, nil
}

// compileGlob compiles a glob with Flux's meaning: only '*' is special, every
// other character is literal.
func compileGlob(p string) *glob.Pattern {
	parts := strings.Split(p, "*")
	for i, s := range parts {
		parts[i] = glob.QuoteMeta(s)
	}
	g, err := glob.Compile(strings.Join(parts, "*"))
	if err != nil {
		// Unreachable: every metacharacter but '*' is quoted.
		panic(fmt.Sprintf("compile glob %q: %v", p, err))
	}
	return g
}

// Match reports whether tag is allowed by the filter. For semver filters the
// tag must parse as a version (leading v and partial versions accepted) and
// satisfy the constraint; pre-releases follow Masterminds v3.
func (f Filter) Match(tag string) bool {
	switch f.Kind {
	case Semver:
		v, err := parseVersion(tag)
		if err != nil || f.constraint == nil {
			return false
		}
		return f.constraint.Check(v)
	case Regexp:
		return f.re != nil && f.re.MatchString(tag)
	default:
		return f.glob != nil && f.glob.Match(tag)
	}
}

// String renders the filter with its prefix ("glob:*", "semver:~1.2", ...).
func (f Filter) String() string {
	return f.Kind.String() + ":" + f.Pattern
}

// AllowsLatest reports whether the filter names the tag latest exactly
// (`latest` or `glob:latest`), the only case where latest may be chosen.
func (f Filter) AllowsLatest() bool {
	return f.Kind == Glob && f.Pattern == "latest"
}

var errNoVersion = errors.New("not a semantic version")

// maxCachedVersions bounds the cache of parsed tags; reaching it starts over.
const maxCachedVersions = 16384

// versionCache remembers parsed tags: a push is decided against every site
// of its repository, and each parse is a regexp match. Versions are never
// modified once parsed, so sharing them is safe.
var versionCache = struct {
	sync.RWMutex
	m map[string]*semver.Version // nil: not a version
}{m: map[string]*semver.Version{}}

// parseVersion parses a tag as a semantic version; a leading v and partial
// versions (1.2) are accepted. Results are cached by tag.
func parseVersion(tag string) (*semver.Version, error) {
	versionCache.RLock()
	v, ok := versionCache.m[tag]
	versionCache.RUnlock()
	if !ok {
		var err error
		if v, err = parseVersionUncached(tag); err != nil {
			v = nil
		}
		versionCache.Lock()
		if len(versionCache.m) >= maxCachedVersions {
			versionCache.m = map[string]*semver.Version{}
		}
		versionCache.m[tag] = v
		versionCache.Unlock()
	}
	if v == nil {
		return nil, errNoVersion
	}
	return v, nil
}

// parseVersionUncached is parseVersion without the cache. Tags starting with
// anything but a digit or v are rejected early, without a regexp.
func parseVersionUncached(tag string) (*semver.Version, error) {
	if tag == "" {
		return nil, errNoVersion
	}
	c := tag[0]
	if c == 'v' && len(tag) > 1 {
		c = tag[1]
	}
	if c < '0' || c > '9' {
		return nil, errNoVersion
	}
	return semver.NewVersion(tag)
}
