package manifest

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// resourceCands is what was detected in one resource, waiting for finish:
// whether a scalar is shared with another site can only be told once every
// resource of the document (every item of a List) is read.
type resourceCands struct {
	res      Resource
	resource string // res.String(), for problems
	cands    []*cand
	pol      *policies
	named    map[string]bool
	owner    map[*cand]*resourceCands
}

// finishAll finishes the resources of one document, in order.
func (d *doc) finishAll(rs []*resourceCands) []Site {
	switch len(rs) {
	case 0:
		return nil
	case 1: // the common case: one resource per document
		return d.finish(rs[0], rs[0].cands)
	}
	var all []*cand
	owner := map[*cand]*resourceCands{}
	for _, r := range rs {
		all = append(all, r.cands...)
		for _, c := range r.cands {
			owner[c] = r
		}
	}
	var sites []Site
	for _, r := range rs {
		r.owner = owner
		sites = append(sites, d.finish(r, all)...)
	}
	return sites
}

// finish turns a resource's candidates into sites: scalars located, policy
// attached, and the sites hoist must not edit marked read-only. all holds
// the candidates of every resource of the document.
func (d *doc) finish(r *resourceCands, all []*cand) []Site {
	d.resource = r.resource
	res, cands, p := r.res, r.cands, r.pol
	containers := map[string]bool{}
	for n := range r.named {
		containers[n] = true
	}
	for n := range p.aliases {
		containers[n] = true
	}
	sites := make([]Site, len(cands))
	for i, c := range cands {
		containers[c.container] = true
		s := Site{
			File: d.file, Document: d.c.index, Resource: res, Container: strings.Clone(c.container),
			Shape: c.shape, Ref: c.ref, Parts: make(map[Role]Scalar, 2),
			Policy: Policy{Automated: p.automated, Locked: p.locked, Ignored: p.ignored},
		}
		if f, ok := p.filters[c.container]; ok {
			s.Policy.Filter = strings.Clone(f.value)
		}
		if a, ok := p.ages[c.container]; ok {
			s.Policy.MinAge = strings.Clone(a.value)
		}
		for r, n := range c.nodes {
			if n == nil {
				continue
			}
			sc := d.scalar(n, c.parents[r])
			sc.Value = strings.Clone(sc.Value)
			s.Parts[roleOf[r]] = sc
			if s.Line == 0 || sc.Line < s.Line {
				s.Line = sc.Line
			}
		}
		s.Problems = c.problems
		if c.readOnly != "" {
			s.ReadOnly = c.readOnly
		} else {
			s.ReadOnly = d.readOnly(c, s, all, r)
		}
		if s.ReadOnly != "" {
			s.Problems = append(s.Problems, s.ReadOnly)
		}
		sites[i] = s
	}
	d.checkFilters(p, containers)
	d.checkAges(p, containers)
	return sites
}

// editable returns the part indexes an edit of c may rewrite: the tag (or
// the name scalar carrying the tag), the name when it carries the digest
// beside a tag key, and the digest key.
func (c *cand) editable() []int {
	var out []int
	if c.nodes[iTag] != nil {
		out = append(out, iTag)
		if c.digestInName {
			out = append(out, c.name())
		}
	} else {
		out = append(out, c.name())
	}
	if c.nodes[iDigest] != nil {
		out = append(out, iDigest)
	}
	return out
}

// readOnly says why site s (from c) cannot be edited: a scalar it would
// rewrite is a block or multi-line scalar, or is shared (through an anchor)
// with another site, which the same edit would change behind its back.
func (d *doc) readOnly(c *cand, s Site, cands []*cand, r *resourceCands) string {
	for _, i := range c.editable() {
		sc := s.Parts[roleOf[i]]
		if sc.Frozen {
			return "the " + string(roleOf[i]) + " at line " + itoa(sc.Line) + " is written as a " +
				frozenWhat(sc) + "; hoist edits single-line scalars only"
		}
		for j, n := range c.nodes {
			if j != i && n == c.nodes[i] {
				return "the " + string(roleOf[i]) + " at line " + itoa(sc.Line) + " is also the site's " + string(roleOf[j]) +
					"; editing it would change both, so hoist leaves it alone"
			}
		}
		for _, o := range cands {
			if o == c || !o.uses(c.nodes[i]) {
				continue
			}
			other := "container " + o.container
			if or := r.owner[o]; or != nil && or != r {
				other += " of " + or.resource
			}
			return "the " + string(roleOf[i]) + " at line " + itoa(sc.Line) + " is shared (YAML anchor) with " +
				other + "; editing it would change both, so hoist leaves it alone"
		}
	}
	return ""
}

// uses reports whether any part of c is node n.
func (c *cand) uses(n *yaml.Node) bool {
	for _, m := range c.nodes {
		if m != nil && m == n {
			return true
		}
	}
	return false
}

func frozenWhat(sc Scalar) string {
	switch sc.Style {
	case Literal, Folded:
		return "block scalar (" + sc.Style.String() + ")"
	}
	return "multi-line scalar"
}
