package manifest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/hoist-gitops/hoist/internal/imageref"
	"go.yaml.in/yaml/v3"
)

// ShapeMarker is a site marked by Flux v2 setter comments: one or more
// scalars of one mapping (or one sequence item) carrying
// {"$imagepolicy": "<ns>:<policy>[:tag|:name|:digest]"} for one policy.
const ShapeMarker Shape = "imagepolicy"

// FluxSite is what a Flux v2 marker site adds to a Site.
type FluxSite struct {
	// Namespace and Name name the ImagePolicy the markers name.
	Namespace, Name string
	// Path is where the marked scalars are in the resource: the mapping
	// holding them, or the sequence item ("spec.values.image",
	// "images[0]", "spec.template.spec.containers[0].image").
	Path string
	// Parts says which marker each part of the site carries.
	Parts map[Role]MarkerPart
	// Policy is the ImagePolicy, with its ImageRepository's image; set by
	// resolveMarkers (or from a rewrite), zero before.
	Policy ImagePolicy
	// Resolved is true once Policy is set and the site's Ref names the
	// ImageRepository's image.
	Resolved bool
}

// markerContainer is the Container of a marker site: the site's key within
// its resource, "marker:<ns>:<policy>@<path>".
func markerContainer(namespace, name, path string) string {
	return "marker:" + namespace + ":" + name + "@" + path
}

// markerRole maps a marker part to the role of its scalar in Site.Parts.
var markerRole = map[MarkerPart]Role{
	PartImage: RoleImage, PartTag: RoleTag, PartName: RoleRepository, PartDigest: RoleDigest,
}

// hasMarkerToken screens a document for setter comments before it is
// decoded with comments (the fast reader does not keep them).
func hasMarkerToken(b []byte) bool { return bytes.Contains(b, []byte(markerKey)) }

// markerScalar is one marked scalar found in a document.
type markerScalar struct {
	m      Marker
	node   *yaml.Node
	parent *yaml.Node
	group  string // path of the mapping or sequence item holding it
	field  string // full path of the scalar
}

// markerGroup is the marked scalars of one policy in one mapping.
type markerGroup struct {
	res   Resource
	ns    string
	name  string
	path  string
	items []markerScalar
}

// markerSites finds the marker sites of one document (any kind, any
// field): every scalar whose line comment (or, failing that, head comment)
// is a setter comment. Markers on anything but a scalar are problems.
func (d *doc) markerSites() []Site {
	src := d.data[d.c.start:d.c.end]
	var root yaml.Node
	if err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("yaml: %v", r)
			}
		}()
		return yaml.Unmarshal(src, &root)
	}(); err != nil {
		return nil // Parse reports a document that does not parse
	}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	var groups []*markerGroup
	byKey := map[string]*markerGroup{}
	add := func(res Resource, ms markerScalar) {
		key := res.String() + "\x00" + ms.m.Namespace + ":" + ms.m.Name + "@" + ms.group
		g := byKey[key]
		if g == nil {
			g = &markerGroup{res: res, ns: ms.m.Namespace, name: ms.m.Name, path: ms.group}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, ms)
	}
	resources := []*yaml.Node{top}
	if top.Kind == yaml.MappingNode {
		if k := mapValue(top, "kind"); k != nil && isList(k) {
			if items := mapValue(top, "items"); items != nil && items.Kind == yaml.SequenceNode {
				resources = items.Content
			}
		}
	}
	for _, r := range resources {
		res := markerResource(r)
		d.resource = ""
		if r.Kind == yaml.MappingNode {
			d.resource = res.String()
		}
		d.walkMarkers(r, nil, "", "", func(ms markerScalar) { add(res, ms) })
	}
	d.resource = ""
	sites := make([]Site, 0, len(groups))
	for _, g := range groups {
		for _, g := range splitRepeated(g) {
			sites = append(sites, d.markerSite(g))
		}
	}
	return sites
}

// splitRepeated keeps a group whole when each part is marked once in it
// and the whole image is not marked beside its parts; otherwise (two tags
// of one policy in one mapping, say) which name belongs with which tag
// cannot be told, so each marked scalar is a site of its own, keyed by its
// own path. Flux sets them all.
func splitRepeated(g *markerGroup) []*markerGroup {
	seen := map[MarkerPart]bool{}
	repeated := false
	for _, it := range g.items {
		repeated = repeated || seen[it.m.Part]
		seen[it.m.Part] = true
	}
	if seen[PartImage] && len(seen) > 1 {
		repeated = true
	}
	if !repeated {
		return []*markerGroup{g}
	}
	out := make([]*markerGroup, 0, len(g.items))
	for _, it := range g.items {
		out = append(out, &markerGroup{res: g.res, ns: g.ns, name: g.name, path: it.field, items: []markerScalar{it}})
	}
	return out
}

// markerResource names the resource a marked field belongs to; a
// document without kind or name (a kustomization.yaml) still is one.
func markerResource(r *yaml.Node) Resource {
	res := Resource{Namespace: "default"}
	if r.Kind != yaml.MappingNode {
		return res
	}
	if k := mapValue(r, "kind"); k != nil && k.Kind == yaml.ScalarNode {
		res.Kind = k.Value
	}
	if m := mapValue(r, "metadata"); m != nil && m.Kind == yaml.MappingNode {
		if n := mapValue(m, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			res.Name = n.Value
		}
		if n := mapValue(m, "namespace"); n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" && n.Value != "" {
			res.Namespace = n.Value
		}
	}
	return res
}

// mapValue is the value of key in mapping m (the last, as yaml.v3 keeps
// duplicates), nil when absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			v = m.Content[i+1]
		}
	}
	return v
}

// nodeMarker reads the setter comment of a node, as Flux does: its line
// comment, or its head comment when it has no line comment.
func nodeMarker(n *yaml.Node) (Marker, bool, error) {
	c := n.LineComment
	if c == "" {
		c = n.HeadComment
	}
	if c == "" || !strings.Contains(c, markerKey) {
		return Marker{}, false, nil
	}
	return parseMarker(c)
}

// walkMarkers visits n, found at path (group is the path of the
// collection holding it), reporting marked scalars to found and markers
// anywhere else as problems.
func (d *doc) walkMarkers(n, parent *yaml.Node, path, group string, found func(markerScalar)) {
	m, ok, err := nodeMarker(n)
	if err != nil {
		d.problem(n.Line, "%v", err)
		ok = false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if ok {
			found(markerScalar{m: m, node: n, parent: parent, group: group, field: path})
		}
	case yaml.MappingNode:
		if ok {
			d.problem(n.Line, "setter comment %q is on a mapping (%s); Flux v2 sets scalar fields only", m.String(), pathOr(path))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if km, kok, kerr := nodeMarker(k); kerr == nil && kok {
				d.problem(k.Line, "setter comment %q is on the key %s, not at the end of a scalar value's line; Flux v2 does not read it there",
					km.String(), p)
			}
			d.walkMarkers(v, n, p, path, found)
		}
	case yaml.SequenceNode:
		if ok {
			d.problem(n.Line, "setter comment %q is on a sequence (%s); Flux v2 sets scalar fields only", m.String(), pathOr(path))
		}
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.walkMarkers(c, n, p, p, found)
		}
	case yaml.AliasNode:
		if ok {
			d.problem(n.Line, "setter comment %q is on an alias (%s); Flux v2 does not set aliases, mark the anchored value", m.String(), pathOr(path))
		}
	}
}

func pathOr(p string) string {
	if p == "" {
		return "the document"
	}
	return p
}

// markerSite turns a group of marked scalars into a site: the parts
// located in the file, the reference they read (host and path only when an
// image or name is marked; resolveMarkers fills them from the
// ImageRepository otherwise).
func (d *doc) markerSite(g *markerGroup) Site {
	d.resource = g.res.String()
	s := Site{File: d.file, Document: d.c.index, Resource: g.res, Shape: ShapeMarker,
		Container: markerContainer(g.ns, g.name, g.path), Parts: map[Role]Scalar{},
		Flux: &FluxSite{Namespace: g.ns, Name: g.name, Path: g.path, Parts: map[Role]MarkerPart{}}}
	for _, it := range g.items {
		role := markerRole[it.m.Part]
		sc := d.scalar(it.node, it.parent)
		s.Parts[role] = sc
		s.Flux.Parts[role] = it.m.Part
		if s.Line == 0 || sc.Line < s.Line {
			s.Line = sc.Line
		}
	}
	ro := func(why string) {
		if s.ReadOnly == "" {
			s.ReadOnly = why
			s.Problems = append(s.Problems, why)
		}
	}
	for _, r := range []Role{RoleImage, RoleRepository, RoleTag, RoleDigest} {
		sc, ok := s.Parts[r]
		if !ok {
			continue
		}
		if sc.Frozen {
			ro("the " + string(s.Flux.Parts[r]) + " marked at line " + itoa(sc.Line) + " is written as a " +
				frozenWhat(sc) + "; hoist edits single-line scalars only")
		}
		switch r {
		case RoleImage:
			ref, err := imageref.Parse(sc.Value)
			if err != nil {
				ro(fmt.Sprintf("the image %q marked at line %d does not parse: %v", sc.Value, sc.Line, err))
				continue
			}
			s.Ref = ref
		case RoleRepository:
			host, path := imageref.SplitHost(sc.Value)
			if err := imageref.ValidateRepository(sc.Value); err != nil {
				ro(fmt.Sprintf("the image name %q marked at line %d does not parse: %v", sc.Value, sc.Line, err))
				continue
			}
			s.Ref.Host, s.Ref.Path = host, path
		case RoleTag:
			s.Ref.Tag = sc.Value
		case RoleDigest:
			s.Ref.Digest = sc.Value
		}
	}
	for _, r := range []Role{RoleImage, RoleRepository, RoleTag, RoleDigest} {
		if sc, ok := s.Parts[r]; ok {
			s.Parts[r] = Scalar{Value: strings.Clone(sc.Value), Start: sc.Start, End: sc.End, Line: sc.Line,
				Style: sc.Style, Frozen: sc.Frozen, Flow: sc.Flow}
		}
	}
	return s
}

// markerEditable refuses the marker sites Retag cannot edit: one marking
// only the repository name (hoist never changes a name), one marking a
// digest without a tag beside it, and one not resolved against its policy.
func markerEditable(s Site) error {
	if s.Flux == nil {
		return nil
	}
	if !s.Flux.Resolved {
		return fmt.Errorf("%w: marker site not resolved against ImagePolicy %s/%s", ErrInvalid, s.Flux.Namespace, s.Flux.Name)
	}
	_, image := s.Flux.Parts[RoleImage]
	_, tag := s.Flux.Parts[RoleTag]
	if !image && !tag {
		return fmt.Errorf("%w: the site marks no tag and no whole image", ErrNoTagPlace)
	}
	return nil
}

// markerDigest reports whether marker site s takes the pushed digest even
// when it holds none now: it has a :digest marker, or it marks the whole
// image and its ImagePolicy reflects digests (Flux then writes
// name:tag@digest).
func markerDigest(s Site) bool {
	if s.Flux == nil {
		return false
	}
	if _, ok := s.Flux.Parts[RoleDigest]; ok {
		return true
	}
	_, ok := s.Flux.Parts[RoleImage]
	return ok && s.Flux.Policy.ReflectsDigest()
}
