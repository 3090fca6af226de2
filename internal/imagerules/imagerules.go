// Package imagerules decides which images[] rule applies to an image
// repository: the first rule whose glob matches the canonical repository
// name (host/path, as imageref.Canonical writes it). It is pure: no
// network, no NATS, no git.
package imagerules

import (
	"fmt"
	"strings"
	"time"

	"github.com/gobwas/glob"
)

// Verify says how a pushed tag is checked before it is written.
type Verify string

// The verify modes.
const (
	// VerifyTag: the tag must exist in the registry; its digest is taken from the registry.
	VerifyTag Verify = "tag"
	// VerifyNone: the webhook is trusted as it is.
	VerifyNone Verify = "none"
)

// Rule is what hoist does for the image repositories one glob matches.
type Rule struct {
	// Match is the glob on the canonical repository: * within a path
	// component, ** across components (a whole "**/" component also
	// matches none), ?, [abc] and {a,b} as in shells.
	Match string
	// Verify is how a pushed tag is checked; "" counts as VerifyTag.
	Verify Verify
	// PinDigest writes tag@digest instead of tag.
	PinDigest bool
	// Signature, when set, admits only images with a valid cosign signature.
	Signature Signature
	// MinAge is how long a tag must have existed before it is used.
	MinAge time.Duration
	// Scan lists the repository's tags periodically.
	Scan bool
}

// Signature is how an image's cosign signature is verified.
type Signature struct {
	// Key is a PEM public key file.
	Key string
	// Keyless verifies a Fulcio certificate identity instead of a key.
	Keyless Keyless
	// WaitFor is how long a pushed image without a signature is retried
	// before it is dropped as unsigned; 0: matcher.DefaultSignatureWait.
	WaitFor time.Duration
}

// Keyless is a Sigstore keyless (Fulcio certificate) identity.
type Keyless struct {
	// Issuer is the OIDC issuer of the signing identity.
	Issuer string
	// Identity is a regular expression the certificate's identity must match.
	Identity string
	// TrustedRootFile is a Sigstore trusted root JSON file.
	TrustedRootFile string
}

// Set reports whether a signature is required.
func (s Signature) Set() bool {
	return s.Key != "" || s.Keyless != (Keyless{})
}

// MaxMinAge is the longest minimum age: a push held for its tag's age
// waits in the push stream, which keeps a push a day longer
// (bus.StreamMaxAge).
const MaxMinAge = 6 * 24 * time.Hour

// Default is the rule of a repository no rule matches: verify the tag, scan.
var Default = Rule{Match: "**", Verify: VerifyTag, Scan: true}

// Rules is an ordered list of compiled rules.
type Rules struct {
	rules []Rule
	globs []*glob.Pattern
}

// Compile compiles the rules in order; the error names the first bad glob.
func Compile(rules []Rule) (*Rules, error) {
	out := &Rules{}
	for i, r := range rules {
		g, err := CompileGlob(r.Match)
		if err != nil {
			return nil, fmt.Errorf("images[%d].match: %w", i, err)
		}
		if r.Verify == "" {
			r.Verify = VerifyTag
		}
		out.rules = append(out.rules, r)
		out.globs = append(out.globs, g)
	}
	return out, nil
}

// CompileGlob compiles one match glob, '/' separating path components.
func CompileGlob(pattern string) (*glob.Pattern, error) {
	if pattern == "" {
		return nil, fmt.Errorf("empty glob (write \"**\" for every repository)")
	}
	if strings.TrimSpace(pattern) != pattern {
		return nil, fmt.Errorf("%q has spaces around it", pattern)
	}
	g, err := glob.Compiler{Separators: []rune{'/'}, Globstar: true}.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", pattern, err)
	}
	if err := checkCanonical(pattern); err != nil {
		return nil, fmt.Errorf("%q %w", pattern, err)
	}
	return g, nil
}

// checkCanonical rejects a glob that can never match because it is not
// written in the canonical form: lower case, starting with the registry
// host, Docker Hub as docker.io with library/ for official images.
func checkCanonical(pattern string) error {
	const canon = "(canonical names are host/path, e.g. docker.io/library/nginx or ghcr.io/org/app)"
	if pattern != strings.ToLower(pattern) {
		return fmt.Errorf("never matches: canonical repository names are lower case")
	}
	first, rest, hasRest := strings.Cut(pattern, "/")
	if strings.ContainsAny(first, "*?[{\\") {
		return nil
	}
	if !hasRest || !strings.ContainsAny(first, ".:") && first != "localhost" {
		return fmt.Errorf("never matches: it does not start with a registry host %s", canon)
	}
	switch first {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return fmt.Errorf("never matches: Docker Hub is written docker.io in canonical names")
	case "docker.io":
		if !strings.ContainsAny(rest, "/*?[{\\") {
			return fmt.Errorf("never matches: Docker Hub's official images are docker.io/library/%s in canonical names", rest)
		}
	}
	return nil
}

// For returns the first rule matching a canonical repository, or Default.
// A nil *Rules has no rules.
func (rs *Rules) For(repo string) Rule {
	if rs != nil {
		for i, g := range rs.globs {
			if g.Match(repo) {
				return rs.rules[i]
			}
		}
	}
	return Default
}
