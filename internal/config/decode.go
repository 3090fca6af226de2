package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-gitops/hoist/internal/suggest"
)

// defaulter is a type that fills its defaults before its keys are decoded.
type defaulter interface{ setDefaults() }

// decoder turns yaml.Nodes into config structs, strictly, collecting every
// mistake with its line instead of stopping at the first.
type decoder struct {
	file     string
	env      func(string) (string, bool)
	problems Problems
	lines    map[string]int
	// stages are the stages the file is resolved for: a variable that is
	// not set is a mistake only in a key one of them uses.
	stages Stages
	// raw keeps the text of scalars that hold ${...} references, by key
	// path, so a value that expands to nothing can name its reference.
	raw map[string]string
	// depth and visits bound the walk: an alias may refer to its own
	// parent, and nested aliases can multiply a small file enormously.
	depth, visits int
	exhausted     bool
}

// Limits of the walk; a configuration file comes nowhere near them.
const (
	maxDepth  = 50
	maxVisits = 100000
)

// addf records a mistake about the key path at a line.
func (d *decoder) addf(key string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Key: key, Message: fmt.Sprintf(format, args...)})
}

var durationType = reflect.TypeOf(time.Duration(0))

// enter counts a visit to node n one level deeper, and reports whether the
// walk may go on (the caller then leaves the level with d.depth--): once
// the walk is too deep or too long it stops, with one problem saying so.
func (d *decoder) enter(n *yaml.Node, path string) bool {
	d.visits++
	if d.depth >= maxDepth || d.visits > maxVisits {
		if !d.exhausted {
			d.addf(path, n.Line, "%s: nested too deeply or expands to too much (an alias that refers to itself?)", orTop(path))
			d.exhausted = true
		}
		return false
	}
	d.depth++
	return true
}

// decode fills v from n; path names the key for messages ("receivers[0].kind").
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if !d.enter(n, path) {
		return
	}
	defer func() { d.depth-- }()
	if _, seen := d.lines[path]; !seen {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if v.Kind() == reflect.Pointer {
			d.addf(path, n.Line, "%s has no value (write \"\" for an empty string)", path)
		}
		return // an empty key keeps its default
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			switch strings.ToLower(s) {
			case "true", "yes", "on":
				v.SetBool(true)
			case "false", "no", "off":
				v.SetBool(false)
			default:
				d.addf(path, n.Line, "%s: %q is not true or false", path, s)
			}
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.scalar(n, path, "a whole number"); ok {
			i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
			if err != nil {
				d.addf(path, n.Line, "%s: %q is not a whole number", path, s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.addf(path, n.Line, "%s: %q is not a number", path, s)
				return
			}
			v.SetFloat(f)
		}
	default:
		panic(fmt.Sprintf("config: no decoder for %s", v.Type()))
	}
}

// scalar is the expanded text of a scalar node, or a mistake when n is a
// mapping or a list.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.addf(path, n.Line, "%s must be %s, not %s", path, want, kindName(n))
		return "", false
	}
	s, errs := expandEnv(n.Value, d.env)
	if s != n.Value {
		d.raw[path] = n.Value
	}
	for _, e := range errs {
		if e.unset && !d.stages.uses(path) {
			continue // another stage's secret: not this one's business
		}
		d.addf(path, n.Line, "%s: %s", path, e.msg)
	}
	return s, len(errs) == 0
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	if s == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.addf(path, n.Line, "%s: %q is not a duration (write e.g. 500ms, 2s, 1m30s)", path, s)
		return
	}
	if dur < 0 {
		d.addf(path, n.Line, "%s: %s is negative", path, s)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.addf(path, n.Line, "%s must be a mapping of keys, not %s", orTop(path), kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(path, k.Line, "%s: keys must be plain words", orTop(path))
			continue
		}
		if k.Value == "<<" { // merge key: the merged mappings first, then this one's keys
			d.decodeMerge(val, v, path)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.addf(join(path, k.Value), k.Line, "%s is set twice (first on line %d)", join(path, k.Value), line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.addf(join(path, k.Value), k.Line, "unknown key %q in %s%s", k.Value, orTop(path), closestKey(k.Value, fields))
			continue
		}
		fp := join(path, k.Value)
		d.lines[fp] = k.Line
		d.decode(val, v.Field(idx), fp)
	}
}

func (d *decoder) decodeMerge(val *yaml.Node, v reflect.Value, path string) {
	val = resolve(val)
	if !d.enter(val, path) {
		return
	}
	defer func() { d.depth-- }()
	if val.Kind == yaml.SequenceNode {
		for _, m := range val.Content {
			d.decodeStruct(resolve(m), v, path)
		}
		return
	}
	d.decodeStruct(val, v, path)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.addf(path, n.Line, "%s must be a list, not %s", path, kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		el := out.Index(i)
		if df, ok := el.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(item, el, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(out)
}

// yamlFields maps each yaml key of a struct type to its field index.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" && f.IsExported() {
			m[tag] = i
		}
	}
	return m
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "that"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// closestKey names the known key closest to a misspelt one, if any is close.
func closestKey(key string, fields map[string]int) string {
	return suggest.DidYouMean(key, slices.Collect(maps.Keys(fields)))
}
