package manifest

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse finds every image site in a YAML file (all its documents): the
// images of HelmReleases (SPEC §2.1) and of Deployments, StatefulSets,
// DaemonSets, Jobs, CronJobs and Pods (SPEC §2.2), with the policy each
// container's annotations give it. What is wrong in the file is returned as
// Problems (SPEC §2.4); a document that does not parse does not stop the
// others from being read. file is only recorded, never opened.
func Parse(file string, data []byte) ([]Site, []Problem) {
	if len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		return nil, []Problem{{File: file, Line: 1, Message: "file is UTF-16 encoded; hoist reads UTF-8 manifests only"}}
	}
	var sites []Site
	var problems []Problem
	lf := onlyLF(data)
	for _, c := range splitDocuments(data) {
		s, p := parseChunk(file, data, c, lf)
		sites = append(sites, s...)
		problems = append(problems, p...)
	}
	return sites, problems
}

// parseChunk reads the sites of one document.
func parseChunk(file string, data []byte, c chunk, lf bool) ([]Site, []Problem) {
	if !c.doc || !mayHoldSite(data[c.start:c.end]) {
		return nil, nil
	}
	d := &doc{file: file, data: data, c: c, lf: lf}
	sites := d.parse()
	sort.SliceStable(d.problems, func(i, j int) bool { return d.problems[i].Line < d.problems[j].Line })
	return sites, d.problems
}

// documentSites reads the sites of the document with the given index.
func documentSites(file string, data []byte, index int) []Site {
	for _, c := range splitDocuments(data) {
		if c.doc && c.index == index {
			s, _ := parseChunk(file, data, c, onlyLF(data))
			return s
		}
	}
	return nil
}

// siteKinds are the kinds whose documents can hold image sites.
var siteKinds = [][]byte{
	[]byte("HelmRelease"), []byte("Deployment"), []byte("StatefulSet"),
	[]byte("DaemonSet"), []byte("Job"), []byte("Pod"),
}

// mayHoldSite is an exact pre-check that spares decoding documents that
// cannot hold a site: the kind must be spelt somewhere in the bytes, unless
// a backslash escape could spell it in a double-quoted scalar.
func mayHoldSite(b []byte) bool {
	for _, k := range siteKinds {
		if bytes.Contains(b, k) {
			return true
		}
	}
	return bytes.IndexByte(b, '\\') >= 0
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
	named    map[string]bool // container names seen, valid image or not
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

// parse decodes the document and reads its sites.
func (d *doc) parse() []Site {
	root, release, err := decode(d.data[d.c.start:d.c.end])
	if release != nil {
		defer release()
	}
	if err != nil {
		line, msg := errorLine(err)
		d.problems = append(d.problems, Problem{File: d.file, Line: d.absLine(line),
			Message: "YAML does not parse: " + msg})
		return nil
	}
	top := deref(root)
	if top == nil || top.Kind != yaml.MappingNode {
		return nil
	}
	kind := d.lookup(top, "kind").value
	if !isStr(kind) {
		return nil
	}
	var spec func(*yaml.Node) *yaml.Node
	switch kind.Value {
	case "HelmRelease":
	case "Deployment", "StatefulSet", "DaemonSet", "Job":
		spec = func(s *yaml.Node) *yaml.Node { return d.path(s, "template", "spec") }
	case "CronJob":
		spec = func(s *yaml.Node) *yaml.Node { return d.path(s, "jobTemplate", "spec", "template", "spec") }
	case "Pod":
		spec = func(s *yaml.Node) *yaml.Node { return s }
	default:
		return nil
	}
	meta := d.lookup(top, "metadata").value
	// Strings kept in sites are cloned: node values may be slices of the
	// whole document (see fastDecode), which a site must not keep alive.
	res := Resource{Kind: strings.Clone(kind.Value), Namespace: "default"}
	if n := d.lookup(meta, "name").value; n != nil && n.Kind == yaml.ScalarNode {
		res.Name = strings.Clone(n.Value)
	}
	if n := d.lookup(meta, "namespace").value; n != nil && n.Kind == yaml.ScalarNode && n.Value != "" && n.Tag != "!!null" {
		res.Namespace = strings.Clone(n.Value)
	}
	d.resource = res.String()
	pol := d.policies(d.lookup(meta, "annotations").value, kind.Value == "HelmRelease")
	specNode := d.lookup(top, "spec").value
	var cands []*cand
	if spec == nil {
		cands = d.helmRelease(d.lookup(specNode, "values").value, pol)
	} else {
		cands = d.workload(spec(specNode))
	}
	return d.finish(res, cands, pol)
}

// path follows keys through mappings.
func (d *doc) path(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = d.lookup(n, k).value
	}
	return n
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
