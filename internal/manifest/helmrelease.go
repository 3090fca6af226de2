package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// chartImage is the container name of an image found at the top level of a
// HelmRelease's values (Flux v1's ReleaseContainerName).
const chartImage = "chart-image"

// role indexes of a candidate's parts.
const (
	iImage = iota
	iRegistry
	iRepository
	iTag
	iDigest
	numRoles
)

var roleOf = [numRoles]Role{RoleImage, RoleRegistry, RoleRepository, RoleTag, RoleDigest}

// cand is a site being detected: the YAML nodes of its parts.
type cand struct {
	container string
	shape     Shape
	nodes     [numRoles]*yaml.Node
	parents   [numRoles]*yaml.Node
	ref       imageref.Reference
	problems  []string
	readOnly  string
	// appendable: an untagged name scalar may take ":tag" (it stands for
	// the whole image).
	appendable bool
	// digestInName: the name scalar carries the digest while a tag key
	// carries the tag (image: repo@sha256:… + tag: v1).
	digestInName bool
}

// set records part i.
func (c *cand) set(i int, e entry) {
	c.nodes[i], c.parents[i] = e.value, e.parent
}

// name is the index of the part holding the repository name.
func (c *cand) name() int {
	if c.nodes[iRepository] != nil {
		return iRepository
	}
	return iImage
}

// helmRelease detects the images of a HelmRelease's values: chart-image at
// the top level, one per direct mapping child (keyed by a non-null key),
// then the annotation aliases. The result is in Flux's order.
func (d *doc) helmRelease(values *yaml.Node, p *policies) []*cand {
	byName := map[string]*cand{}
	if isMap(values) {
		if d.lookup(values, "image").key != nil {
			d.see(chartImage)
		}
		if c := d.interpret(values, "spec.values"); c != nil {
			c.container = chartImage
			byName[chartImage] = c
		}
		for _, e := range d.entries(values) {
			// A null key names no container (and is reported: Flux
			// refuses the file).
			if !isMap(e.value) || e.key.Tag == "!!null" {
				continue
			}
			if d.lookup(e.value, "image").key != nil {
				d.see(e.key.Value)
			}
			if c := d.interpret(e.value, "spec.values."+e.key.Value); c != nil {
				c.container = e.key.Value
				byName[e.key.Value] = c // a child named chart-image replaces the top level
			}
		}
	}
	for _, name := range sortedKeys(p.aliases) {
		if c := d.alias(values, name, p.aliases[name]); c != nil {
			byName[name] = c
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sortContainers(names)
	out := make([]*cand, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// sortContainers orders names as Flux does: chart-image first, then bytewise.
func sortContainers(names []string) {
	sort.Slice(names, func(i, j int) bool {
		if names[i] == chartImage || names[j] == chartImage {
			return names[i] == chartImage && names[j] != chartImage
		}
		return names[i] < names[j]
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// interpret reads one mapping of values as an image: image: <string>
// (+ tag:, + registry:) or image: {repository:, tag:, registry:, digest:}.
// where names the mapping for messages. It returns nil when the
// mapping holds no image; when it holds one that is not valid, a problem is
// recorded and nil returned.
func (d *doc) interpret(m *yaml.Node, where string) *cand {
	img := d.lookup(m, "image")
	if img.value == nil {
		return nil
	}
	c := &cand{}
	inner := m // the mapping holding registry/tag/digest
	switch {
	case img.value.Kind == yaml.MappingNode:
		repo := d.lookup(img.value, "repository")
		if !isStr(repo.value) {
			return nil
		}
		c.shape = ShapeRepository
		c.set(iRepository, repo)
		inner = img.value
	case isStr(img.value):
		c.shape = ShapeImage
		c.set(iImage, img)
		c.appendable = true
	default:
		return nil
	}
	if reg := d.lookup(inner, "registry"); isStr(reg.value) {
		c.set(iRegistry, reg)
	}
	tag := d.lookup(inner, "tag")
	switch {
	case isStr(tag.value):
		c.set(iTag, tag)
	case isNumericTag(tag.value):
		// A plain number (tag: 1.9) is read as its text, never as the
		// parsed number (1.10 would be 1.1); an edit writes it quoted.
		c.set(iTag, tag)
		d.numericTag(c, tag.value)
	case tag.value != nil:
		// A tag that is neither a string nor a number is ignored; the
		// image is read without it. Writing a tag anywhere else would
		// fight the chart's own tag key, so such a site is read-only.
		c.readOnly = "tag at line " + itoa(d.absLine(tag.key.Line)) + " is " + typeName(tag.value) +
			", not a string: the image is read without a tag and hoist will not edit it (quote the tag to let hoist manage it)"
	}
	if c.nodes[iTag] != nil && c.shape == ShapeImage {
		c.shape = ShapeImageTag
	}
	// A digest key counts beside a tag or a repository.
	if c.nodes[iTag] != nil || c.shape == ShapeRepository {
		d.digestKey(c, d.lookup(inner, "digest"))
	}
	if !d.assemble(c, where, img.key.Line) {
		return nil
	}
	return c
}

// digestKey reads a digest: key. Empty or null means "not pinned". A
// digest that is not a string or not a valid digest, or one given while the
// repository or tag already carries a digest (the chart would build a
// double digest), leaves the image readable without it but read-only.
func (d *doc) digestKey(c *cand, dig entry) {
	v := dig.value
	if v == nil || v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || isStr(v) && v.Value == "") {
		return
	}
	at := "digest at line " + itoa(d.absLine(dig.key.Line))
	why := ""
	switch {
	case !isStr(v):
		why = at + " is " + typeName(v) + ", not a string"
	case imageref.ValidateDigest(v.Value) != nil:
		why = at + " (" + quote(v.Value) + ") is not a valid digest (algorithm:hex, 64 lower-case hex digits for sha256)"
	case strings.Contains(c.nodes[c.name()].Value, "@"):
		why = at + " is given while the " + string(roleOf[c.name()]) + " already carries a digest, so the chart would build a double digest"
	case c.nodes[iTag] != nil && strings.Contains(c.nodes[iTag].Value, "@"):
		why = at + " is given while the tag already carries a digest, so the chart would build a double digest"
	default:
		c.set(iDigest, dig)
		return
	}
	why += ": the image is read without this digest and hoist will not edit it"
	if c.readOnly == "" {
		c.readOnly = why
	} else {
		c.problems = append(c.problems, why)
	}
}

// isNumericTag reports whether n is a plain (untagged, unquoted) integer or
// float whose text is a valid tag, such as 1.9 or 20240101.
func isNumericTag(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Style == 0 && (n.Tag == "!!int" || n.Tag == "!!float") &&
		imageref.ValidateTag(n.Value) == nil
}

// numericTag notes on c when the numeric tag n would be rendered by a chart
// as other text than hoist reads (1.10 renders as 1.1).
func (d *doc) numericTag(c *cand, n *yaml.Node) {
	if r := renderedNumber(n); r != n.Value {
		c.problems = append(c.problems, "tag "+n.Value+" at line "+itoa(d.absLine(n.Line))+
			" is written as a number: hoist reads its text "+quote(n.Value)+", but Helm renders the number as "+
			quote(r)+"; quote the tag")
	}
}

// renderedNumber is how a chart prints a numeric value: Helm reads values
// through JSON, so every number is a float64, printed by Go templates as
// fmt.Sprint does (1.10 prints 1.1, 10000000 prints 1e+07).
func renderedNumber(n *yaml.Node) string {
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	switch x := v.(type) {
	case int:
		return fmt.Sprint(float64(x))
	case int64:
		return fmt.Sprint(float64(x))
	case uint64:
		return fmt.Sprint(float64(x))
	case float64:
		return fmt.Sprint(x)
	}
	return n.Value
}

// assemble composes the reference from the parts as Flux does,
// [registry/]name[:tag][@digest], and parses it. A name that carries a
// digest beside a tag key (image: repo@sha256:… + tag: v1, as charts
// that split tag and digest write it) reads repo:v1@sha256:…. An invalid
// combination is reported and yields no image.
func (d *doc) assemble(c *cand, where string, line int) bool {
	for i, what := range [numRoles]string{"image", "registry", "repository", "tag", "digest"} {
		if n := c.nodes[i]; n != nil && n.Value == "" {
			d.problem(line, "%s: %s is empty, so this is not an image", where, what)
			return false
		}
	}
	s := c.nodes[c.name()].Value
	digest := ""
	if i := strings.IndexByte(s, '@'); i >= 0 && c.nodes[iTag] != nil {
		s, digest = s[:i], s[i:]
		c.digestInName = true
	}
	if n := c.nodes[iRegistry]; n != nil {
		s = n.Value + "/" + s
	}
	if n := c.nodes[iTag]; n != nil {
		s += ":" + n.Value
	}
	s += digest
	if n := c.nodes[iDigest]; n != nil {
		s += "@" + n.Value
	}
	ref, err := imageref.Parse(strings.Clone(s))
	if err != nil {
		d.problem(line, "%s: %s is not a valid image: %v", where, describe(c), err)
		return false
	}
	c.ref = ref
	return true
}

// describe names the parts a reference was composed from, for messages.
func describe(c *cand) string {
	s := ""
	for i, what := range [numRoles]string{"image", "registry", "repository", "tag", "digest"} {
		if n := c.nodes[i]; n != nil {
			if s != "" {
				s += " + "
			}
			s += what + " " + quote(n.Value)
		}
	}
	return s
}

func quote(s string) string { return strconv.Quote(s) }
