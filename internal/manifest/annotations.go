package manifest

import (
	"github.com/hoist-gitops/hoist/internal/suggest"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Annotation prefixes of Flux v1's policies. fluxcd.io/ and flux.weave.works/
// are equivalent.
const (
	prefixFlux       = "fluxcd.io"
	prefixWeave      = "flux.weave.works"
	prefixFilter     = "filter.fluxcd.io"
	prefixRepository = "repository.fluxcd.io"
	prefixRegistry   = "registry.fluxcd.io"
	prefixTag        = "tag.fluxcd.io"
)

var knownPrefixes = []string{prefixFlux, prefixWeave, prefixFilter, prefixRepository, prefixRegistry, prefixTag, prefixHoist}

// policyNames are the names under fluxcd.io/ that hoist reads; otherNames
// are Flux v1's own bookkeeping, known and ignored.
var (
	policyNames = []string{"automated", "locked", "ignore"}
	otherNames  = map[string]bool{"locked_user": true, "locked_msg": true, "sync-checksum": true, "sync-gc-mark": true}
)

// filterDef is the filter annotation chosen for one container.
type filterDef struct {
	value string
	key   string
	line  int
	rank  int // 0 filter.fluxcd.io, 1 fluxcd.io/tag., 2 flux.weave.works/tag.
}

// policies is what a resource's annotations say.
type policies struct {
	automated, locked, ignored bool
	filters                    map[string]filterDef
	aliases                    map[string]*aliasDef
	ages                       map[string]ageDef // hoist.dev/min-age.<container>
}

// policies reads metadata.annotations: automation flags, filters, aliases,
// and reports keys that look like Flux's but are not, and values that are
// not scalars.
func (d *doc) policies(ann *yaml.Node, helm bool) *policies {
	p := &policies{}
	for _, e := range d.entries(ann) {
		key, line := e.key.Value, e.key.Line
		if e.value != nil && (e.value.Kind == yaml.MappingNode || e.value.Kind == yaml.SequenceNode) {
			// Annotations are a map of strings to Flux v1 (and Kubernetes).
			d.problem(line, "annotation %s is %s, not a string; it is ignored, and Flux v1 refuses a file holding such a document",
				key, typeName(e.value))
			continue
		}
		prefix, name, slash := strings.Cut(key, "/")
		if !slash {
			continue
		}
		known := false
		for _, k := range knownPrefixes {
			known = known || prefix == k
		}
		if !known {
			if s := suggestPrefix(prefix); s != "" {
				d.problem(line, "unknown annotation %s: did you mean %s/%s?", key, s, name)
			}
			continue
		}
		if e.value == nil || e.value.Kind != yaml.ScalarNode {
			d.problem(line, "annotation %s is %s, not a string; it is ignored", key, typeName(e.value))
			continue
		}
		value := e.value.Value
		switch prefix {
		case prefixFlux, prefixWeave:
			d.policyAnnotation(p, prefix, name, value, line)
		case prefixHoist:
			d.hoistAnnotation(p, name, value, line)
		case prefixFilter:
			if name == "" {
				d.problem(line, "annotation %s names no container", key)
				continue
			}
			p.addFilter(d, name, filterDef{value: value, key: key, line: line, rank: 0})
		case prefixRepository, prefixRegistry, prefixTag:
			if !helm {
				d.problem(line, "annotation %s only applies to a HelmRelease; it is ignored", key)
				continue
			}
			if name == "" {
				d.problem(line, "annotation %s names no alias", key)
				continue
			}
			if p.aliases == nil {
				p.aliases = map[string]*aliasDef{}
			}
			a := p.aliases[name]
			if a == nil {
				a = &aliasDef{}
				p.aliases[name] = a
			}
			ap := &aliasPath{key: key, path: value, line: line}
			switch prefix {
			case prefixRepository:
				a.repository = ap
			case prefixRegistry:
				a.registry = ap
			default:
				a.tag = ap
			}
		}
	}
	return p
}

// policyAnnotation reads one fluxcd.io/ (or flux.weave.works/) annotation.
func (d *doc) policyAnnotation(p *policies, prefix, name, value string, line int) {
	key := prefix + "/" + name
	switch name {
	case "automated", "locked", "ignore":
		on := value == "true"
		if !on && value != "false" && value != "" {
			d.problem(line, "%s is %q: only the string \"true\" turns it on", key, value)
		}
		switch name {
		case "automated":
			p.automated = p.automated || on
		case "locked":
			p.locked = p.locked || on
		default:
			p.ignored = p.ignored || on
		}
		return
	}
	if otherNames[name] {
		return
	}
	if c, ok := strings.CutPrefix(name, "tag."); ok {
		if c == "" {
			d.problem(line, "annotation %s names no container", key)
			return
		}
		rank := 1
		if prefix == prefixWeave {
			rank = 2
		}
		p.addFilter(d, c, filterDef{value: value, key: key, line: line, rank: rank})
		return
	}
	d.problem(line, "unknown annotation %s%s", key, suggestName(prefix, name))
}

// addFilter records a container's filter; when several annotations give
// different filters, filter.fluxcd.io wins over fluxcd.io/tag. over
// flux.weave.works/tag., and the conflict is reported.
func (p *policies) addFilter(d *doc, container string, f filterDef) {
	if p.filters == nil {
		p.filters = map[string]filterDef{}
	}
	old, ok := p.filters[container]
	if !ok {
		p.filters[container] = f
		return
	}
	if old.value != f.value {
		win := old
		if f.rank < old.rank {
			win = f
		}
		d.problem(f.line, "conflicting filters for container %s: %s: %q and %s: %q; %s is used",
			container, old.key, old.value, f.key, f.value, win.key)
		p.filters[container] = win
		return
	}
	if f.rank < old.rank {
		p.filters[container] = f
	}
}

// suggestName proposes the policy annotation a misspelt name under
// fluxcd.io/ probably meant.
func suggestName(prefix, name string) string {
	for _, n := range policyNames {
		if suggest.Distance(strings.ToLower(name), n) <= 2 {
			return ": did you mean " + prefix + "/" + n + "?"
		}
	}
	if head, rest, ok := strings.Cut(name, "."); ok && rest != "" {
		switch {
		case head == "filter":
			return ": did you mean " + prefixFilter + "/" + rest + "?"
		case suggest.Distance(strings.ToLower(head), "tag") <= 1 || strings.ToLower(head) == "tags":
			return ": did you mean " + prefix + "/tag." + rest + "?"
		}
	}
	return " (neither Flux nor hoist reads it)"
}

// suggestPrefix returns the known annotation prefix an unknown one is
// probably a misspelling of, or "".
func suggestPrefix(prefix string) string {
	lp := strings.ToLower(prefix)
	best, bestD := "", 3
	for _, k := range knownPrefixes {
		if lp == k {
			return k // only the case differs
		}
		if dist := suggest.Distance(lp, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if len(prefix) < 6 {
		return ""
	}
	return best
}

// checkFilters reports filters for containers the resource does not have.
func (d *doc) checkFilters(p *policies, containers map[string]bool) {
	for _, c := range sortedKeys(p.filters) {
		if containers[c] {
			continue
		}
		f := p.filters[c]
		names := sortedKeys(containers)
		msg := "filter " + f.key + " is for container " + quote(c) + ", which this resource does not have"
		best, bestD := "", 3
		for _, n := range names {
			if dist := suggest.Distance(c, n); dist < bestD {
				best, bestD = n, dist
			}
		}
		switch {
		case best != "":
			msg += ": did you mean " + quote(best) + "?"
		case len(names) > 0:
			sort.Strings(names)
			msg += " (containers: " + strings.Join(names, ", ") + ")"
		default:
			msg += " (no images found)"
		}
		d.problem(f.line, "%s", msg)
	}
}
