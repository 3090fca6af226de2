// Package manifest finds image sites in Kubernetes and Flux manifests and
// edits them byte for byte. It is pure: bytes in, sites and edited bytes out.
package manifest

import (
	"strings"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// Style is how a scalar is written in the file.
type Style uint8

// Scalar styles; edits keep the style they find. Literal and Folded (block
// scalars) are never edited.
const (
	Plain Style = iota
	SingleQuoted
	DoubleQuoted
	Literal // block scalar introduced by |
	Folded  // block scalar introduced by >
)

// String names the style as the golden files and docs do.
func (s Style) String() string {
	switch s {
	case SingleQuoted:
		return "single"
	case DoubleQuoted:
		return "double"
	case Literal:
		return "literal"
	case Folded:
		return "folded"
	}
	return "plain"
}

// Scalar is one YAML string scalar an image site was read from. With anchors
// and aliases it is where the value is actually written (the anchored node).
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
	// Frozen is true when the scalar cannot be rewritten in place: a block
	// scalar, a scalar spanning lines, or one whose text could not be
	// located exactly (End is then not meaningful).
	Frozen bool
	// Flow is true when the scalar sits inside a flow collection ({...}).
	Flow bool
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

// Shape says how a site's reference is laid out in the file: the HelmRelease
// values shapes, workload containers, and Flux v2 markers (docs/manifests.md).
type Shape string

// Site shapes.
const (
	ShapeImage      Shape = "image"            // image: <ref> (optionally registry: beside it)
	ShapeImageTag   Shape = "image+tag"        // image: <name> + tag: <tag> (optionally registry:)
	ShapeRepository Shape = "image.repository" // image: {repository: ..., tag: ..., registry: ...}
	ShapeAlias      Shape = "alias"            // repository./registry./tag.fluxcd.io/<alias> annotations
	ShapeWorkload   Shape = "workload"         // containers[]/initContainers[] image: of a workload
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
	// Filter is the tag pattern exactly as written in the annotation
	// ("semver:~1.2", "glob: *", ...); empty means glob:*. Parsing it
	// (and trimming the space after a prefix) is internal/policy's job.
	Filter string
	// MinAge is the container's hoist.dev/min-age.<container> annotation
	// as written ("24h", "7d"); empty when not set. ParseAge reads it.
	MinAge string
}

// Site is one place in a file that holds an image reference.
type Site struct {
	File      string // slash-separated path as given to Parse
	Line      int    // line of the first scalar of the site
	Document  int    // 0-based index of the YAML document in the file
	Resource  Resource
	Container string
	// Shape is how the reference is laid out.
	Shape Shape
	// Ref is the reference as it reads now, assembled from Parts.
	Ref imageref.Reference
	// Parts are the scalars the reference was assembled from, by role.
	Parts map[Role]Scalar
	// Policy applies to this container.
	Policy Policy
	// Problems found for this site, for people (non-string tag beside the
	// image, scalar shared with another site, conflicting filters, ...).
	Problems []string
	// ReadOnly, when not empty, says why hoist will not edit this site;
	// Retag refuses it. The reason is also among Problems.
	ReadOnly string
	// Flux is set on a site marked by Flux v2 setter comments (Shape
	// ShapeMarker); nil on Flux v1 sites.
	Flux *FluxSite
}

// Problem is something wrong in a file that is not tied to one valid site:
// YAML that does not parse, an alias path that does not resolve, a
// misspelt annotation, an image that does not parse.
type Problem struct {
	File     string
	Line     int
	Resource string // empty when not within a resource
	Message  string
}

// String renders the problem as "file:line: [resource: ]message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Resource != "" {
		b.WriteString(p.Resource)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}
