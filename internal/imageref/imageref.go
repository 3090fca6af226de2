// Package imageref parses, validates and canonicalises container image
// references ([host[:port]/]path[:tag][@digest]) as the distribution
// reference grammar defines them.
//
// Two spellings matter to hoist: the one written in git, which is kept byte
// for byte when a file is edited, and the canonical repository name, which is
// what a push event and an image site are matched on.
package imageref

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// DockerHub is the canonical host of Docker Hub.
const DockerHub = "docker.io"

// maxNameLength is the longest repository name (host and path) the
// distribution grammar accepts.
const maxNameLength = 255

var (
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	// hostRE accepts a DNS name or IPv4 address, an optional port, or a
	// bracketed IPv6 address.
	hostRE   = regexp.MustCompile(`^(?:(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
	sha256RE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// Reference is a parsed image reference. Host is empty when the reference
// names none (Docker Hub is then implied); Tag and Digest are empty when absent.
type Reference struct {
	Host   string
	Path   string
	Tag    string
	Digest string
}

// Parse parses s strictly: it must be a complete, valid reference.
func Parse(s string) (Reference, error) {
	if s == "" {
		return Reference{}, errors.New("empty image reference")
	}
	if strings.TrimSpace(s) != s {
		return Reference{}, fmt.Errorf("image reference %q: surrounding whitespace", s)
	}
	var r Reference
	name := s
	if i := strings.IndexByte(name, '@'); i >= 0 {
		r.Digest = name[i+1:]
		name = name[:i]
		if err := ValidateDigest(r.Digest); err != nil {
			return Reference{}, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	// A tag follows the last colon that comes after the last slash; a colon
	// before the last slash belongs to host:port.
	if i := strings.LastIndexByte(name, ':'); i >= 0 && i > strings.LastIndexByte(name, '/') {
		r.Tag = name[i+1:]
		name = name[:i]
		if err := ValidateTag(r.Tag); err != nil {
			return Reference{}, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	r.Host, r.Path = SplitHost(name)
	if r.Host != "" {
		if err := ValidateHost(r.Host); err != nil {
			return Reference{}, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	if err := ValidatePath(r.Path); err != nil {
		return Reference{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	if len(name) > maxNameLength {
		return Reference{}, fmt.Errorf("image reference %q: name longer than %d characters", s, maxNameLength)
	}
	return r, nil
}

// SplitHost splits a repository name into host and path the way Docker does:
// the first component is a host only when it contains '.' or ':', is
// "localhost", or has an upper-case letter.
func SplitHost(name string) (host, path string) {
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	first := name[:i]
	if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
		return first, name[i+1:]
	}
	return "", name
}

// ValidateTag reports whether tag matches the tag grammar.
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

// ValidateDigest reports whether d is a well-formed digest (algorithm:hex).
// sha256 digests must have exactly 64 lower-case hex digits.
func ValidateDigest(d string) error {
	if !digestRE.MatchString(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	if strings.HasPrefix(d, "sha256:") && !sha256RE.MatchString(d) {
		return fmt.Errorf("invalid sha256 digest %q", d)
	}
	return nil
}

// ValidateHost reports whether h is a valid registry host, with optional port.
func ValidateHost(h string) error {
	if !hostRE.MatchString(h) {
		return fmt.Errorf("invalid registry host %q", h)
	}
	return nil
}

// ValidatePath reports whether p is a valid repository path.
func ValidatePath(p string) error {
	if p == "" {
		return errors.New("empty repository path")
	}
	for _, c := range strings.Split(p, "/") {
		if !componentRE.MatchString(c) {
			return fmt.Errorf("invalid repository path %q", p)
		}
	}
	return nil
}

// ValidateRepository validates a repository name that may start with a host.
func ValidateRepository(name string) error {
	host, path := SplitHost(name)
	if host != "" {
		if err := ValidateHost(host); err != nil {
			return err
		}
	}
	if err := ValidatePath(path); err != nil {
		return err
	}
	if len(name) > maxNameLength {
		return fmt.Errorf("repository name longer than %d characters", maxNameLength)
	}
	return nil
}

// String renders the reference in its written form.
func (r Reference) String() string {
	var b strings.Builder
	b.WriteString(r.Name())
	if r.Tag != "" {
		b.WriteByte(':')
		b.WriteString(r.Tag)
	}
	if r.Digest != "" {
		b.WriteByte('@')
		b.WriteString(r.Digest)
	}
	return b.String()
}

// Name is the repository name as written: [host/]path.
func (r Reference) Name() string {
	if r.Host == "" {
		return r.Path
	}
	return r.Host + "/" + r.Path
}

// Canonical is the canonical repository name used for matching.
func (r Reference) Canonical() string { return Canonical(r.Host, r.Path) }

// Canonical returns the canonical repository name for a host and path: the
// host lower-cased, Docker Hub's aliases folded into "docker.io", and
// "library/" added to one-component Docker Hub paths.
func Canonical(host, path string) string {
	host = CanonicalHost(host)
	if host == DockerHub && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	return host + "/" + path
}

// CanonicalHost lower-cases a host and folds Docker Hub's names into "docker.io".
func CanonicalHost(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return DockerHub
	}
	return host
}
