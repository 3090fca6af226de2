package manifest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse finds every image site in a YAML file (all its documents): the
// images of HelmReleases and of Deployments, StatefulSets, DaemonSets, Jobs,
// CronJobs and Pods, also as the items of a List (kind List or any kind
// ending in List), with the policy each container's annotations give it.
// What is wrong in the file is returned as Problems, including everything
// that makes Flux v1 refuse the file; a document that does not parse does
// not stop the others from being read. file is only recorded, never opened.
func Parse(file string, data []byte) ([]Site, []Problem) {
	if len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		return nil, []Problem{{File: file, Line: 1, Message: "file is UTF-16 encoded; hoist reads UTF-8 manifests only"}}
	}
	var sites []Site
	var problems []Problem
	lf := onlyLF(data)
	var defined map[Resource]int // resource → line of its first definition
	var only definition          // the file's first definition, before defined is needed
	ndefs := 0
	for _, c := range splitDocuments(data) {
		s, p, defs := parseChunk(file, data, c, lf)
		n := len(p)
		for _, def := range defs {
			if ndefs++; ndefs == 1 {
				only = def
				continue
			}
			if defined == nil {
				defined = map[Resource]int{only.res: only.line}
			}
			if first, ok := defined[def.res]; ok {
				p = append(p, Problem{File: file, Line: def.line, Resource: def.res.String(),
					Message: "resource is defined twice in this file (first at line " + itoa(first) +
						"); Flux v1 refuses a file that defines a resource twice"})
				continue
			}
			defined[def.res] = def.line
		}
		if len(p) > n {
			sort.SliceStable(p, func(i, j int) bool { return p[i].Line < p[j].Line })
		}
		sites = append(sites, s...)
		problems = append(problems, p...)
	}
	return sites, problems
}

// parseChunk reads the sites of one document, and the resources it defines.
func parseChunk(file string, data []byte, c chunk, lf bool) ([]Site, []Problem, []definition) {
	if !c.doc {
		return nil, nil, nil
	}
	d := &doc{file: file, data: data, c: c, lf: lf}
	sites := d.parse()
	if hasMarkerToken(data[c.start:c.end]) {
		m := &doc{file: file, data: data, c: c, lf: lf}
		sites = append(sites, m.markerSites()...)
		d.problems = append(d.problems, m.problems...)
	}
	sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
	return sites, d.problems, d.defs
}

// documentSites reads the sites of the document with the given index.
func documentSites(file string, data []byte, index int) []Site {
	for _, c := range splitDocuments(data) {
		if c.doc && c.index == index {
			s, _, _ := parseChunk(file, data, c, onlyLF(data))
			return s
		}
	}
	return nil
}

// doc is the state of reading one document.
type doc struct {
	file     string
	data     []byte // the whole file
	c        chunk
	lines    []int // file offsets of the chunk's line starts, built on demand
	lf       bool  // the file's only line break is LF (see onlyLF)
	resource string
	problems []Problem
	dups     map[*yaml.Node]bool
	named    map[string]bool // container names seen in the current resource, valid image or not
	defs     []definition    // resources the document defines
	// untyped: the current resource's spec is one Flux v1 does not
	// decode (Job, Pod), so a wrong type there is not a refusal.
	untyped bool
}

// refusal ends a message about a field of the wrong type: what Flux v1
// does with it.
func (d *doc) refusal() string {
	if d.untyped {
		return "its images are not read"
	}
	return "Flux v1 refuses a file holding such a document"
}

// definition is a resource a document defines, and the file line where.
type definition struct {
	res  Resource
	line int
}

// see records a container name the resource has, whether or not its image
// turned out valid (a filter for it is then not reported as orphaned).
func (d *doc) see(name string) {
	if d.named == nil {
		d.named = map[string]bool{}
	}
	d.named[name] = true
}

// problem records a problem at a chunk-relative line.
func (d *doc) problem(line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{
		File: d.file, Line: d.absLine(line), Resource: d.resource,
		Message: fmt.Sprintf(format, args...),
	})
}

// duplicate reports a duplicated mapping key once.
func (d *doc) duplicate(k *yaml.Node) {
	if d.dups == nil {
		d.dups = map[*yaml.Node]bool{}
	}
	if d.dups[k] {
		return
	}
	d.dups[k] = true
	d.problem(k.Line, "duplicate key %q: the last one is used", k.Value)
}

// parse decodes the document and reads its sites. Every document is
// decoded, whatever its kind: Flux v1 refuses a whole file when any of its
// documents does not parse, so hoist reports it.
func (d *doc) parse() []Site {
	root, release, err := decode(d.data[d.c.start:d.c.end])
	if release != nil {
		defer release()
	}
	if err != nil {
		line, msg := errorLine(err)
		line, msg = d.crossAnchor(line, msg)
		d.problems = append(d.problems, Problem{File: d.file, Line: d.absLine(line),
			Message: "YAML does not parse: " + msg})
		return nil
	}
	top := deref(root)
	if top == nil || top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil // an empty document
	}
	if top.Kind != yaml.MappingNode {
		d.problem(top.Line, "the document is %s, not a mapping; Flux v1 refuses a file holding such a document", typeName(top))
		return nil
	}
	kind := d.lookup(top, "kind").value
	if kind != nil && kind.Kind != yaml.ScalarNode {
		d.problem(kind.Line, "kind is %s, not a string; Flux v1 refuses a file holding such a document", typeName(kind))
		return nil
	}
	if isList(kind) {
		return d.finishAll(d.list(top))
	}
	if r := d.object(top); r != nil {
		return d.finish(r, r.cands)
	}
	return nil
}

// object reads one resource: the document itself or an item of a List. It
// returns nil when the resource is not one whose images hoist reads.
func (d *doc) object(top *yaml.Node) *resourceCands {
	d.resource, d.named, d.untyped = "", nil, false
	kind := d.lookup(top, "kind").value
	if kind == nil || kind.Kind != yaml.ScalarNode || kind.Value == "" || kind.Tag == "!!null" {
		return nil // Flux v1 skips an object without a kind
	}
	metaE := d.lookup(top, "metadata")
	meta := metaE.value
	if !d.mappingOrNull(metaE, "metadata") {
		return nil
	}
	// Strings kept in sites are cloned: node values may be slices of the
	// whole document (see fastDecode), which a site must not keep alive.
	res := Resource{Kind: strings.Clone(kind.Value), Namespace: "default"}
	for _, f := range []struct {
		key string
		to  *string
	}{{"name", &res.Name}, {"namespace", &res.Namespace}} {
		e := d.lookup(meta, f.key)
		switch {
		case e.value == nil || e.value.Kind == yaml.ScalarNode && (e.value.Tag == "!!null" || e.value.Value == ""):
		case e.value.Kind == yaml.ScalarNode:
			*f.to = strings.Clone(e.value.Value)
		default:
			d.problem(e.key.Line, "metadata.%s is %s, not a string; Flux v1 refuses a file holding such a document", f.key, typeName(e.value))
			return nil
		}
	}
	d.resource = res.String()
	d.defs = append(d.defs, definition{res: res, line: d.absLine(top.Line)})
	annE := d.lookup(meta, "annotations")
	if !d.mappingOrNull(annE, "metadata.annotations") {
		return nil
	}
	var specPath []string // from the resource to the pod spec or values
	switch kind.Value {
	case "HelmRelease":
		specPath = []string{"spec", "values"}
	case "Deployment", "StatefulSet", "DaemonSet", "Job":
		specPath = []string{"spec", "template", "spec"}
	case "CronJob":
		specPath = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case "Pod":
		specPath = []string{"spec"}
	default:
		return nil
	}
	if kind.Value == "HelmRelease" {
		d.jsonable(top)
	}
	// Flux v1 decodes the spec of HelmReleases, Deployments, StatefulSets,
	// DaemonSets and CronJobs into typed fields; Jobs and Pods it keeps
	// untyped (and does not read their images).
	d.untyped = kind.Value == "Job" || kind.Value == "Pod"
	inner, ok := d.mapPath(top, specPath...)
	if !ok {
		return nil
	}
	pol := d.policies(annE.value, kind.Value == "HelmRelease")
	var cands []*cand
	if kind.Value == "HelmRelease" {
		cands = d.helmRelease(inner, pol)
	} else {
		cands = d.workload(inner)
	}
	return &resourceCands{res: res, resource: d.resource, cands: cands, pol: pol, named: d.named}
}

// mapPath follows keys through mappings. A step that is present but
// neither a mapping nor null is reported (Flux v1 decodes these fields into
// typed structures and refuses the file) and ok is false.
func (d *doc) mapPath(n *yaml.Node, keys ...string) (_ *yaml.Node, ok bool) {
	for i, k := range keys {
		e := d.lookup(n, k)
		if !isMappingOrNull(e.value) {
			d.mappingOrNull(e, strings.Join(keys[:i+1], "."))
			return nil, false
		}
		n = e.value
	}
	return n, true
}

// isMappingOrNull reports whether v is missing, null or a mapping.
func isMappingOrNull(v *yaml.Node) bool {
	return v == nil || v.Kind == yaml.MappingNode || v.Kind == yaml.ScalarNode && v.Tag == "!!null"
}

// mappingOrNull reports whether e is missing, null or a mapping; otherwise
// it records a problem naming where (Flux v1 refuses such a file).
func (d *doc) mappingOrNull(e entry, where string) bool {
	v := e.value
	if isMappingOrNull(v) {
		return true
	}
	line := v.Line
	if e.key != nil {
		line = e.key.Line
	}
	d.problem(line, "%s is %s, not a mapping; %s", where, typeName(v), d.refusal())
	return false
}

// decode parses one document into a node tree: by the fast reader when the
// document is in its subset, else by yaml.v3 (whose panics on some inputs
// are turned into errors).
// The caller calls release when done with the tree.
func decode(b []byte) (n *yaml.Node, release func(), err error) {
	if n, release, ok := fastDecode(b); ok {
		return n, release, nil
	}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	n = new(yaml.Node)
	if err := yaml.Unmarshal(b, n); err != nil {
		return nil, func() {}, err
	}
	return n, func() {}, nil
}

// errorLine extracts the chunk-relative line from a yaml.v3 error
// ("yaml: line 3: ...") and returns the rest of the message.
func errorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				msg = rest[i+2:]
				if parserErrors[msg] {
					n++ // yaml.v3 prints the parser's 0-based line
				}
				return n, msg
			}
		}
	}
	return 1, msg
}

// parserErrors are the yaml.v3 messages raised by its parser (not its
// scanner), whose line yaml.v3 prints 0-based.
var parserErrors = map[string]bool{
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
}

func itoa(i int) string { return strconv.Itoa(i) }
