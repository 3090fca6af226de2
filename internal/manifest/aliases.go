package manifest

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// aliasPath is one of an alias's annotations: the dot path it names.
type aliasPath struct {
	key  string // the annotation key
	path string
	line int // chunk-relative line of the annotation
}

// aliasDef is the repository./registry./tag.fluxcd.io annotations of one alias.
type aliasDef struct {
	repository, registry, tag *aliasPath
}

// alias reads an annotation-mapped image: every named path must resolve,
// through mappings only, to a string (the tag also to a plain number), and
// the combination must be a valid reference. Otherwise the alias yields nothing and the reason is
// reported.
func (d *doc) alias(values *yaml.Node, name string, a *aliasDef) *cand {
	if a.repository == nil {
		for _, p := range []*aliasPath{a.registry, a.tag} {
			if p != nil {
				d.problem(p.line, "%s needs repository.fluxcd.io/%s (required for an alias); the alias is ignored", p.key, name)
				return nil
			}
		}
		return nil
	}
	c := &cand{container: name, shape: ShapeAlias, appendable: true}
	for _, part := range []struct {
		i int
		p *aliasPath
	}{{iRepository, a.repository}, {iRegistry, a.registry}, {iTag, a.tag}} {
		if part.p == nil {
			continue
		}
		e, why := d.resolvePath(values, part.p.path, part.i == iTag)
		if why != "" {
			d.problem(part.p.line, "%s: %s; the alias is ignored", part.p.key, why)
			return nil
		}
		c.set(part.i, e)
		if part.i == iTag && isNumericTag(e.value) {
			d.numericTag(c, e.value)
		}
	}
	if !d.assemble(c, "alias "+name, a.repository.line) {
		return nil
	}
	return c
}

// resolvePath follows a dot path from values through mappings (no list
// indexes, no escaping) to a string scalar (or, for a tag, a plain number,
// read as its text); why says what went wrong.
func (d *doc) resolvePath(values *yaml.Node, path string, tag bool) (entry, string) {
	if path == "" {
		return entry{}, "the path is empty"
	}
	parts := strings.Split(path, ".")
	for _, p := range parts {
		if p == "" {
			return entry{}, "path " + quote(path) + " has an empty component"
		}
	}
	cur := entry{value: deref(values)}
	at := "spec.values"
	for _, p := range parts {
		if cur.value == nil {
			return entry{}, "path " + quote(path) + " does not resolve: " + at + " is missing"
		}
		if cur.value.Kind != yaml.MappingNode {
			why := "path " + quote(path) + " does not resolve: " + at + " is " + typeName(cur.value) + ", not a mapping"
			if cur.value.Kind == yaml.SequenceNode {
				why += " (lists are not searched)"
			}
			return entry{}, why
		}
		next := d.lookup(cur.value, p)
		if next.key == nil {
			return entry{}, "path " + quote(path) + " does not resolve: no key " + quote(p) + " in " + at
		}
		cur = next
		at += "." + p
	}
	if !isStr(cur.value) && !(tag && isNumericTag(cur.value)) {
		return entry{}, "path " + quote(path) + " is " + typeName(cur.value) + ", not a string"
	}
	return cur, ""
}
