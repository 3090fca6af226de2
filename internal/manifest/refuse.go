package manifest

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// jsonable reports what stops a HelmRelease from being converted to JSON,
// which Flux v1 does with every HelmRelease (and refuses the file when it
// cannot): a key that is null, a mapping or a list (JSON keys are strings),
// and .inf or .nan values (JSON has no such numbers). Each node is visited
// once where it is written; aliases are not followed, since what they name
// is checked where it is written.
func (d *doc) jsonable(n *yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			d.jsonable(c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case k.Kind == yaml.ScalarNode && k.Tag == "!!null":
				d.problem(k.Line, "a key is null (%s); Flux v1 converts a HelmRelease to JSON, whose keys are strings, and refuses the file", nullText(k))
			case k.Kind == yaml.MappingNode || k.Kind == yaml.SequenceNode:
				d.problem(k.Line, "a key is %s; Flux v1 converts a HelmRelease to JSON, whose keys are strings, and refuses the file", typeName(k))
			}
			if k.Kind != yaml.ScalarNode {
				d.jsonable(k)
			}
			d.jsonable(v)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!float" && isInfNaN(n.Value) {
			d.problem(n.Line, "value %s is not a number JSON can hold; Flux v1 converts a HelmRelease to JSON and refuses the file", n.Value)
		}
	}
}

// nullText shows a null key as written ("~", "null" or an empty key).
func nullText(k *yaml.Node) string {
	if k.Value == "" {
		return "an empty key"
	}
	return quote(k.Value)
}

// isInfNaN reports whether a float scalar's text is an infinity or NaN.
func isInfNaN(v string) bool {
	v = strings.TrimLeft(v, "+-")
	return strings.EqualFold(v, ".inf") || strings.EqualFold(v, ".nan")
}

// crossAnchor explains yaml.v3's "unknown anchor" error when the anchor is
// defined in an earlier document of the file: YAML anchors do not reach
// across documents, and Flux v1 refuses the file. The line is moved to the
// alias when it can be found.
func (d *doc) crossAnchor(line int, msg string) (int, string) {
	rest, ok := strings.CutPrefix(msg, "unknown anchor '")
	if !ok {
		return line, msg
	}
	name, _, ok := strings.Cut(rest, "'")
	if !ok || name == "" {
		return line, msg
	}
	chunk := d.data[d.c.start:d.c.end]
	if i := indexToken(chunk, "*"+name); i >= 0 {
		line = d.lineOf(d.c.start+i) - d.c.line + 1
	}
	if indexToken(d.data[:d.c.start], "&"+name) >= 0 {
		msg += " (anchor &" + name + " is defined in an earlier document of this file; YAML anchors do not reach across documents, and Flux v1 refuses the file)"
	}
	return line, msg
}

// indexToken finds tok in b followed by a blank, a line break, a flow
// indicator or the end.
func indexToken(b []byte, tok string) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(tok))
		if i < 0 {
			return -1
		}
		end := off + i + len(tok)
		if end == len(b) || isBlankOrBreak(b, end) || b[end] == ',' || b[end] == ']' || b[end] == '}' {
			return off + i
		}
		off += i + 1
	}
}
