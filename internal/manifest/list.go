package manifest

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// isList reports whether a kind names a list of resources: List itself or
// any kind ending in List (HelmReleaseList, DeploymentList, ...), the rule
// Flux v1 applies without asking the API server.
func isList(kind *yaml.Node) bool {
	return kind != nil && kind.Kind == yaml.ScalarNode && strings.HasSuffix(kind.Value, "List")
}

// list reads the items of a List document, each as a resource of its own
// (its own kind, namespace, annotations and problems). A List inside a List
// is not read, as Flux v1 does not read it either; it is reported.
func (d *doc) list(top *yaml.Node) []*resourceCands {
	d.resource = ""
	e := d.lookup(top, "items")
	items := e.value
	if items == nil || items.Kind == yaml.ScalarNode && items.Tag == "!!null" {
		return nil
	}
	if items.Kind != yaml.SequenceNode {
		d.problem(e.key.Line, "items is %s, not a list; Flux v1 refuses a file holding such a document", typeName(items))
		return nil
	}
	var rs []*resourceCands
	for i, it := range items.Content {
		item := deref(it)
		if item == nil || item.Kind != yaml.MappingNode {
			d.resource = ""
			line := it.Line
			if item != nil {
				line = item.Line
			}
			d.problem(line, "items[%d] is %s, not a mapping; Flux v1 refuses a file holding such a document", i, typeName(item))
			continue
		}
		if k := d.lookup(item, "kind").value; isList(k) {
			d.resource = ""
			d.problem(k.Line, "items[%d] is itself a list (kind %s): a List inside a List is not read (nor by Flux v1)", i, k.Value)
			continue
		}
		if r := d.object(item); r != nil {
			rs = append(rs, r)
		}
	}
	return rs
}
