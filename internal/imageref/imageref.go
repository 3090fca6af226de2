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
	"strings"
)

// DockerHub is the canonical host of Docker Hub.
const DockerHub = "docker.io"

// maxNameLength is the longest repository name (host and path) the
// distribution grammar accepts.
const maxNameLength = 255

// The grammar is checked by hand rather than by regular expressions: a
// repository index validates tens of thousands of references, and these
// loops are an order of magnitude faster. imageref_test.go holds the
// distribution grammar's regular expressions and fuzzes the two against
// each other.

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

// ValidateTag reports whether tag matches the tag grammar
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func ValidateTag(tag string) error {
	if !validTag(tag) {
		return fmt.Errorf("invalid tag %q", tag)
	}
	return nil
}

func validTag(tag string) bool {
	if tag == "" || len(tag) > 128 || tag[0] == '.' || tag[0] == '-' {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// ValidateDigest reports whether d is a well-formed digest (algorithm:hex):
// algorithm components [a-z0-9]+ joined by one of .+_-, then at least 32 of
// [a-zA-Z0-9=_-]. sha256 digests must have exactly 64 lower-case hex digits.
func ValidateDigest(d string) error {
	alg, enc, ok := strings.Cut(d, ":")
	if !ok || !validAlgorithm(alg) || len(enc) < 32 {
		return fmt.Errorf("invalid digest %q", d)
	}
	for i := 0; i < len(enc); i++ {
		if c := enc[i]; !isAlnum(c) && c != '=' && c != '_' && c != '-' {
			return fmt.Errorf("invalid digest %q", d)
		}
	}
	if alg == "sha256" {
		if len(enc) != 64 {
			return fmt.Errorf("invalid sha256 digest %q", d)
		}
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return fmt.Errorf("invalid sha256 digest %q", d)
			}
		}
	}
	return nil
}

// validAlgorithm checks [a-z0-9]+(?:[.+_-][a-z0-9]+)*.
func validAlgorithm(a string) bool {
	if a == "" {
		return false
	}
	run := 0
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case isLowerAlnum(c):
			run++
		case (c == '.' || c == '+' || c == '_' || c == '-') && run > 0:
			run = 0
		default:
			return false
		}
	}
	return run > 0
}

// ValidateHost reports whether h is a valid registry host, with optional
// port: a DNS name or IPv4 address, or a bracketed IPv6 address.
func ValidateHost(h string) error {
	if !validHost(h) {
		return fmt.Errorf("invalid registry host %q", h)
	}
	return nil
}

func validHost(h string) bool {
	name, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 2 {
			return false
		}
		for i := 1; i < end; i++ {
			if c := h[i]; !isHex(c) && c != ':' && c != '.' {
				return false
			}
		}
		name, port = "", h[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i:]
	}
	if port != "" {
		if len(port) < 2 {
			return false
		}
		for i := 1; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	if strings.HasPrefix(h, "[") {
		return true
	}
	// DNS labels: [A-Za-z0-9] or [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9], joined by dots.
	if name == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			if c := name[i]; !isAlnum(c) && c != '-' {
				return false
			}
			continue
		}
		if i == start || name[start] == '-' || name[i-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// ValidatePath reports whether p is a valid repository path: components
// [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* joined by slashes.
func ValidatePath(p string) error {
	if p == "" {
		return errors.New("empty repository path")
	}
	for rest := p; ; {
		c, more, found := strings.Cut(rest, "/")
		if !validComponent(c) {
			return fmt.Errorf("invalid repository path %q", p)
		}
		if !found {
			return nil
		}
		rest = more
	}
}

func validComponent(c string) bool {
	i := 0
	for {
		// a run of lower-case alphanumerics
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(c) {
			return true
		}
		// a separator: ".", "_", "__" or one or more "-"
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
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
