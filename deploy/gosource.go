package deploy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Metric is one Prometheus metric as declared in hoist's Go source.
type Metric struct {
	// Name is the full name: namespace_subsystem_name.
	Name string
	// Type is counter, gauge, histogram or summary.
	Type string
	// Labels are the label names of a *Vec metric.
	Labels []string
	// Help is the metric's help text.
	Help string
	// File is where it is declared, relative to the scanned root.
	File string
}

// parsePackage parses the non-test Go files of one directory.
func parsePackage(fset *token.FileSet, dir string) ([]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// ConfigKeys lists every key hoist.yaml accepts, as dot paths ("nats.url",
// "repositories[].commit.window"; "[]" marks a list of mappings), read from the yaml tags of the struct named root
// in the Go package at dir (hoist's internal/config) and the structs it holds.
func ConfigKeys(dir, root string) ([]string, error) {
	fset := token.NewFileSet()
	files, err := parsePackage(fset, dir)
	if err != nil {
		return nil, err
	}
	structs := map[string]*ast.StructType{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	st, ok := structs[root]
	if !ok {
		return nil, fmt.Errorf("no struct %s in %s", root, dir)
	}
	var keys []string
	var walk func(prefix string, st *ast.StructType, seen map[string]bool)
	walk = func(prefix string, st *ast.StructType, seen map[string]bool) {
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				continue
			}
			tag, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				continue
			}
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := prefix + name
			typ, list := elemType(field.Type)
			if sub, ok := structs[typ]; ok && !seen[typ] {
				if list {
					key += "[]"
				}
				seen[typ] = true
				walk(key+".", sub, seen)
				delete(seen, typ)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk("", st, map[string]bool{root: true})
	sort.Strings(keys)
	return keys, nil
}

// elemType names a field's type with pointers and one slice level removed.
func elemType(e ast.Expr) (name string, list bool) {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ArrayType:
			list = true
			e = t.Elt
		case *ast.Ident:
			return t.Name, list
		default:
			return "", list
		}
	}
}

// Metrics lists the Prometheus metrics declared under root (a module's directory):
// every prometheus.CounterOpts, GaugeOpts, HistogramOpts and SummaryOpts literal,
// with its label names when it is passed to a New...Vec constructor, and every
// prometheus.NewDesc of a collector of hoist's own. Namespace,
// Subsystem and Name may be string literals or package-level string constants.
// Folders named testdata or starting with "." and the skip list are not scanned.
func Metrics(root string, skip ...string) ([]Metric, error) {
	var out []Metric
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || containsString(skip, name)) {
			return filepath.SkipDir
		}
		ms, err := packageMetrics(root, path)
		out = append(out, ms...)
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func packageMetrics(root, dir string) ([]Metric, error) {
	fset := token.NewFileSet()
	files, err := parsePackage(fset, dir)
	if err != nil {
		return nil, err
	}
	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringValue(vs.Values[i], nil); ok {
							consts[n.Name] = s
						}
					}
				}
			}
		}
	}
	var out []Metric
	for _, f := range files {
		rel, _ := filepath.Rel(root, fset.Position(f.Pos()).Filename)
		labelsOf := map[*ast.CompositeLit][]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			opts, ok := call.Args[0].(*ast.CompositeLit)
			if !ok {
				return true
			}
			if list, ok := call.Args[1].(*ast.CompositeLit); ok {
				for _, el := range list.Elts {
					if s, ok := stringValue(el, consts); ok {
						labelsOf[opts] = append(labelsOf[opts], s)
					}
				}
			}
			return true
		})
		// Collectors of their own declare prometheus.NewDesc(name, help,
		// labels, ...); their type is not in the Desc: _total is a counter,
		// anything else a gauge (what hoist's collectors export).
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 3 || !isSelector(call.Fun, "prometheus", "NewDesc") {
				return true
			}
			name, ok := stringValue(call.Args[0], consts)
			if !ok {
				return true
			}
			help, _ := stringValue(call.Args[1], consts)
			m := Metric{Name: name, Type: "gauge", Help: help, File: filepath.ToSlash(rel)}
			if strings.HasSuffix(name, "_total") {
				m.Type = "counter"
			}
			if list, ok := call.Args[2].(*ast.CompositeLit); ok {
				for _, el := range list.Elts {
					if s, ok := stringValue(el, consts); ok {
						m.Labels = append(m.Labels, s)
					}
				}
			}
			out = append(out, m)
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || pkg.Name != "prometheus" || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			typ := strings.ToLower(strings.TrimSuffix(sel.Sel.Name, "Opts"))
			switch typ {
			case "counter", "gauge", "histogram", "summary":
			default:
				return true
			}
			fields := map[string]string{}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				k, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				if s, ok := stringValue(kv.Value, consts); ok {
					fields[k.Name] = s
				}
			}
			var parts []string
			for _, k := range []string{"Namespace", "Subsystem", "Name"} {
				if fields[k] != "" {
					parts = append(parts, fields[k])
				}
			}
			out = append(out, Metric{
				Name:   strings.Join(parts, "_"),
				Type:   typ,
				Labels: labelsOf[lit],
				Help:   fields["Help"],
				File:   filepath.ToSlash(rel),
			})
			return true
		})
	}
	return out, nil
}

// isSelector reports whether e is pkg.name.
func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// stringValue evaluates a string literal, a known constant, or a concatenation of them.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[v.Name]
		return s, ok
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		l, ok1 := stringValue(v.X, consts)
		r, ok2 := stringValue(v.Y, consts)
		return l + r, ok1 && ok2
	case *ast.ParenExpr:
		return stringValue(v.X, consts)
	}
	return "", false
}

// zerologFieldMethods are the zerolog.Event and zerolog.Context methods whose first
// argument is a field name.
var zerologFieldMethods = map[string]bool{
	"Str": true, "Strs": true, "Stringer": true, "Int": true, "Ints": true, "Int8": true, "Int16": true,
	"Int32": true, "Int64": true, "Uint": true, "Uint8": true, "Uint16": true, "Uint32": true,
	"Uint64": true, "Float32": true, "Float64": true, "Bool": true, "Bools": true, "Dur": true,
	"Durs": true, "Time": true, "Times": true, "TimeDiff": true, "Any": true, "Interface": true,
	"Hex": true, "Bytes": true, "RawJSON": true, "IPAddr": true, "AnErr": true, "Errs": true,
	"Dict": true, "Array": true, "Object": true, "EmbedObject": false,
}

// LogFields lists the log field names hoist's Go source writes with zerolog under root:
// the first argument of Str, Int, Dur, ... calls in packages that import zerolog, and
// "error" for Err. Folders named testdata or starting with "." and the skip list are
// not scanned.
func LogFields(root string, skip ...string) (map[string][]string, error) {
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || containsString(skip, name)) {
			return filepath.SkipDir
		}
		fset := token.NewFileSet()
		files, err := parsePackage(fset, path)
		if err != nil {
			return err
		}
		logs := false // a package that imports zerolog anywhere may log from any file
		for _, f := range files {
			logs = logs || importsZerolog(f)
		}
		for _, f := range files {
			if !logs {
				continue
			}
			rel, _ := filepath.Rel(root, fset.Position(f.Pos()).Filename)
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				field := ""
				switch {
				case sel.Sel.Name == "Err" && len(call.Args) == 1:
					field = "error"
				case zerologFieldMethods[sel.Sel.Name] && (len(call.Args) == 2 || sel.Sel.Name == "TimeDiff" && len(call.Args) == 3):
					// (key, value): flag.FlagSet's Bool, Int, ... take three arguments.
					if s, ok := stringValue(call.Args[0], nil); ok {
						field = s
					}
				}
				if field != "" && !containsString(out[field], filepath.ToSlash(rel)) {
					out[field] = append(out[field], filepath.ToSlash(rel))
				}
				return true
			})
		}
		return nil
	})
	return out, err
}

func importsZerolog(f *ast.File) bool {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/rs/zerolog" || strings.HasPrefix(p, "github.com/rs/zerolog/") {
			return true
		}
	}
	return false
}
