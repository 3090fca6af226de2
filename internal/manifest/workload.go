package manifest

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// workload reads the containers[] and initContainers[] images of a pod spec,
// containers first, as Flux v1 lists them.
func (d *doc) workload(podSpec *yaml.Node) []*cand {
	var out []*cand
	for _, list := range []string{"containers", "initContainers"} {
		e := d.lookup(podSpec, list)
		seq := e.value
		if seq == nil || seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
			continue
		}
		if seq.Kind != yaml.SequenceNode {
			d.problem(e.key.Line, "%s is %s, not a list; %s", list, typeName(seq), d.refusal())
			continue
		}
		for i, it := range seq.Content {
			item := deref(it)
			if item == nil || item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
				continue
			}
			if item.Kind != yaml.MappingNode {
				d.problem(it.Line, "%s[%d] is %s, not a mapping; %s", list, i, typeName(item), d.refusal())
				continue
			}
			img := d.lookup(item, "image")
			if img.value == nil {
				continue
			}
			name := d.lookup(item, "name").value
			if !isStr(name) || name.Value == "" {
				d.problem(img.key.Line, "%s entry without a name: its image is not managed", list)
				continue
			}
			d.see(name.Value)
			if !isStr(img.value) {
				d.problem(img.key.Line, "container %s: image is %s, not a string", name.Value, typeName(img.value))
				continue
			}
			ref, err := imageref.Parse(strings.Clone(img.value.Value))
			if err != nil {
				d.problem(img.key.Line, "container %s: %v", name.Value, err)
				continue
			}
			c := &cand{container: name.Value, shape: ShapeWorkload, ref: ref, appendable: true}
			c.set(iImage, img)
			out = append(out, c)
		}
	}
	return out
}
