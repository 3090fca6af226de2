package manifest

import (
	"go.yaml.in/yaml/v3"
)

// maxDepth bounds how many aliases deref follows in a row; YAML graphs may
// be cyclic (an anchor can be aliased inside itself).
const maxDepth = 32

// deref follows alias nodes to the node they name, and a document node to
// its content.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxDepth; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// isMap reports whether n (dereferenced) is a mapping.
func isMap(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.MappingNode
}

// isStr reports whether n is a string scalar, as Flux v1 reads one: the
// YAML resolved tag is !!str, or it is a plain scalar that merely looks like
// a timestamp (2021-01-01), which Flux v1 read as a string too.
func isStr(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.Tag {
	case "!!str":
		return true
	case "!!timestamp":
		return n.Style&yaml.TaggedStyle == 0
	}
	return false
}

// isMergeKey reports whether a mapping key is the << merge key.
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
}

// typeName describes a non-string node for messages.
func typeName(n *yaml.Node) string {
	if n == nil {
		return "missing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "a number (" + n.Value + ")"
		case "!!bool":
			return "a boolean (" + n.Value + ")"
		case "!!null":
			return "null"
		case "!!str":
			return "a string"
		}
		return "of type " + n.Tag + " (" + n.Value + ")"
	}
	return "not a string"
}

// entry is one effective key of a mapping.
type entry struct {
	key    *yaml.Node // the key scalar
	value  *yaml.Node // dereferenced value
	parent *yaml.Node // the mapping the pair is written in (differs from the looked-up one for merged keys)
}

// lookup returns the effective value of key in mapping m: explicit keys win
// over merged ones, the last of duplicated explicit keys wins (as YAML→JSON
// conversion does), and earlier merge sources win over later ones. It
// returns a zero entry when m is not a mapping or has no such key.
func (d *doc) lookup(m *yaml.Node, key string) entry {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return entry{}
	}
	found, hasMerge := d.explicit(m, key)
	if found.key != nil || !hasMerge {
		return found
	}
	// Merge sources are searched depth first, each mapping once: merge
	// keys can alias the same mapping many times over (exponentially, in a
	// hostile file), and a mapping searched once without the key will not
	// have it the second time either.
	visited := map[*yaml.Node]bool{m: true}
	var search func(m *yaml.Node) entry
	search = func(m *yaml.Node) entry {
		for _, src := range mergeSources(m) {
			if visited[src] {
				continue
			}
			visited[src] = true
			if e, more := d.explicit(src, key); e.key != nil {
				return e
			} else if more {
				if e := search(src); e.key != nil {
					return e
				}
			}
		}
		return entry{}
	}
	return search(m)
}

// explicit finds key among the keys written in mapping m itself, the last
// duplicate winning, and says whether m has merge keys.
func (d *doc) explicit(m *yaml.Node, key string) (found entry, hasMerge bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if isMergeKey(k) {
			hasMerge = true
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == key {
			if found.key != nil {
				d.duplicate(k)
			}
			found = entry{key: k, value: deref(m.Content[i+1]), parent: m}
		}
	}
	return found, hasMerge
}

// mergeSources lists the mappings merged into m by its << keys, in
// precedence order.
func mergeSources(m *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !isMergeKey(m.Content[i]) {
			continue
		}
		src := deref(m.Content[i+1])
		if src == nil {
			continue
		}
		switch src.Kind {
		case yaml.MappingNode:
			out = append(out, src)
		case yaml.SequenceNode:
			for _, s := range src.Content {
				if s = deref(s); s != nil && s.Kind == yaml.MappingNode {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// entries returns the effective keys of mapping m in order: explicit keys
// first (in order of appearance, last duplicate winning), then merged keys
// not already present, each merged mapping visited once.
func (d *doc) entries(m *yaml.Node) []entry {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []entry
	seen := make(map[string]int, len(m.Content)/2)
	visited := map[*yaml.Node]bool{}
	var collect func(m *yaml.Node, explicit bool)
	collect = func(m *yaml.Node, explicit bool) {
		visited[m] = true
		merges := false
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if isMergeKey(k) {
				merges = true
				continue
			}
			if k.Kind != yaml.ScalarNode {
				continue
			}
			e := entry{key: k, value: deref(m.Content[i+1]), parent: m}
			if j, ok := seen[k.Value]; ok {
				if explicit {
					out[j] = e // a duplicated explicit key: the last wins
				}
				continue
			}
			seen[k.Value] = len(out)
			out = append(out, e)
		}
		if !merges {
			return
		}
		for _, src := range mergeSources(m) {
			if !visited[src] {
				collect(src, false)
			}
		}
	}
	collect(m, true)
	return out
}
