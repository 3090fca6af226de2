// Package manifest finds image sites in Kubernetes and Flux manifests and
// edits them byte for byte. It is pure: bytes in, sites and edited bytes out.
package manifest

import (
	"strings"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// Style is how a scalar is quoted in the file.
type Style int

// Scalar quoting styles; edits keep the style they find.
const (
	Plain Style = iota
	SingleQuoted
	DoubleQuoted
)

// Scalar is one YAML string scalar an image site was read from.
type Scalar struct {
	// Value is the decoded string.
	Value string
	// Start and End are the byte offsets of the scalar's text in the file,
	// quotes included, so file[Start:End] is exactly what an edit replaces.
	Start, End int
	// Line is the 1-based line of Start.
	Line int
	// Style is the scalar's quoting.
	Style Style
}

// Role says what part of an image reference a scalar holds.
type Role string

// Roles of the scalars that make up a site.
const (
	RoleImage      Role = "image"      // a whole reference, or the name part when split
	RoleRegistry   Role = "registry"   // registry host
	RoleRepository Role = "repository" // repository path (mapping shape and aliases)
	RoleTag        Role = "tag"
	RoleDigest     Role = "digest"
)

// Resource identifies a Kubernetes object.
type Resource struct {
	Namespace string // "default" when the manifest names none
	Kind      string
	Name      string
}

// String renders the resource as "<namespace>:<kind lower-case>/<name>".
func (r Resource) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = "default"
	}
	return ns + ":" + strings.ToLower(r.Kind) + "/" + r.Name
}

// Policy is what a resource's annotations say about one container.
type Policy struct {
	Automated bool
	Locked    bool
	Ignored   bool
	// Filter is the tag pattern as written ("semver:~1.2", "glob:v*", ...); empty means glob:*.
	Filter string
}

// Site is one place in a file that holds an image reference.
type Site struct {
	File      string // slash-separated path as given to Parse
	Line      int    // line of the first scalar of the site
	Document  int    // 0-based index of the YAML document in the file
	Resource  Resource
	Container string
	// Ref is the reference as it reads now, assembled from Parts.
	Ref imageref.Reference
	// Parts are the scalars the reference was assembled from, by role.
	Parts map[Role]Scalar
	// Policy applies to this container.
	Policy Policy
	// Problems found for this site (invalid filter, ...); a site with a
	// problem that makes its policy unsafe is never automated.
	Problems []string
}

// Problem is something wrong in a file that is not tied to one valid site:
// YAML that does not parse, an alias path that does not resolve, a
// misspelt annotation.
type Problem struct {
	File     string
	Line     int
	Resource string // empty when not within a resource
	Message  string
}
