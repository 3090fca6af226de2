package manifest

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fastDecode reads the plain subset of YAML most manifests are written in —
// block mappings and sequences, single-line plain and quoted scalars,
// comments, LF or CRLF line ends — about ten times faster than yaml.v3, and
// builds exactly the node tree yaml.v3 would (kinds, tags, values, styles,
// lines and columns; comments are not kept). Anything else (flow
// collections, anchors, aliases, tags, block or multi-line scalars, escapes,
// tabs, directives, unusual characters) makes it return ok=false, and the
// caller decodes with yaml.v3. FuzzFastDecode holds it to yaml.v3's output.
//
// The nodes live in memory reused from document to document: the caller
// must call release once it no longer uses the tree (and must not keep any
// node; strings taken from it are cloned before they are kept).
func fastDecode(b []byte) (doc *yaml.Node, release func(), ok bool) {
	if !fastChars(b) {
		return nil, nil, false
	}
	p := fastPool.Get().(*fastParser)
	p.reset(string(b))
	if !p.splitLines() || len(p.lines) == 0 || p.lines[0].indent != 0 {
		fastPool.Put(p)
		return nil, nil, false
	}
	root := p.mapping(0)
	if root == nil || p.i != len(p.lines) {
		fastPool.Put(p)
		return nil, nil, false
	}
	doc = p.node()
	doc.Kind, doc.Line, doc.Column = yaml.DocumentNode, 1, 1
	p.stack = append(p.stack, root)
	doc.Content = p.carve(0)
	return doc, func() { fastPool.Put(p) }, true
}

// fastPool recycles parsers with their node slabs and child arenas.
var fastPool = sync.Pool{New: func() any { return new(fastParser) }}

const slabSize = 256

// reset prepares p for a new document.
func (p *fastParser) reset(src string) {
	p.src, p.i = src, 0
	p.lines = p.lines[:0]
	p.stack = p.stack[:0]
	p.slab, p.used = 0, 0
	p.arena, p.aused = 0, 0
}

// carve moves the children collected on the stack since base into the
// child arena and returns them as a full slice.
func (p *fastParser) carve(base int) []*yaml.Node {
	k := len(p.stack) - base
	if k == 0 {
		p.stack = p.stack[:base]
		return nil
	}
	for p.arena < len(p.arenas) && len(p.arenas[p.arena])-p.aused < k {
		p.arena, p.aused = p.arena+1, 0
	}
	if p.arena == len(p.arenas) {
		p.arenas = append(p.arenas, make([]*yaml.Node, max(slabSize, k)))
		p.aused = 0
	}
	a := p.arenas[p.arena]
	out := a[p.aused : p.aused+k : p.aused+k]
	copy(out, p.stack[base:])
	p.aused += k
	p.stack = p.stack[:base]
	return out
}

// fastChars rejects bytes the fast path does not handle: tabs, control
// characters, lone CRs, invalid UTF-8 and characters yaml.v3
// treats specially (BOM, NEL, LS, PS, C1 controls, non-characters).
func fastChars(b []byte) bool {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\n', c >= 0x20 && c < 0x7F:
		case c == '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return false
			}
		case c >= 0x80:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError || r < 0xA0 || r == 0x2028 || r == 0x2029 || r == 0xFEFF ||
				(r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
				return false
			}
			i += size - 1
		default:
			return false
		}
	}
	return true
}

// fastLine is one line with content: not blank, not only a comment.
type fastLine struct {
	num    int // 1-based line number
	start  int // offset of the line's first byte
	text   int // offset where the content being parsed starts (moves right for "- key: v")
	end    int // offset of the line's end (before CR LF or LF)
	indent int // column of text, 0-based, in characters
	ascii  bool
}

type fastParser struct {
	src   string
	lines []fastLine
	i     int // next line
	// Nodes come from slabs, child lists from arenas; both are reused.
	slabs        [][]yaml.Node
	slab, used   int
	arenas       [][]*yaml.Node
	arena, aused int
	stack        []*yaml.Node // children of the collections being read
}

// node returns a zeroed node from the slabs.
func (p *fastParser) node() *yaml.Node {
	if p.slab < len(p.slabs) && p.used == slabSize {
		p.slab, p.used = p.slab+1, 0
	}
	if p.slab == len(p.slabs) {
		p.slabs = append(p.slabs, make([]yaml.Node, slabSize))
	}
	n := &p.slabs[p.slab][p.used]
	p.used++
	*n = yaml.Node{}
	return n
}

// splitLines collects the content lines. A leading "---" and a trailing
// "..." (possibly with comments) are allowed; other markers and directives
// are not.
func (p *fastParser) splitLines() bool {
	s := p.src
	ended, started := false, false
	for num, start := 1, 0; start < len(s); num++ {
		end := strings.IndexByte(s[start:], '\n')
		next := len(s)
		if end < 0 {
			end = len(s)
		} else {
			end += start
			next = end + 1
		}
		if end > start && s[end-1] == '\r' {
			end--
		}
		line := s[start:end]
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		switch {
		case indent == len(line) || line[indent] == '#':
			// blank or comment
		case ended:
			return false
		case indent == 0 && markerLine(line, "---"):
			if started || len(p.lines) > 0 || !commentOnly(line[3:]) {
				return false
			}
			started = true
		case indent == 0 && markerLine(line, "..."):
			if !commentOnly(line[3:]) {
				return false
			}
			ended = true
		case indent == 0 && line[0] == '%':
			return false
		default:
			ascii := true
			for i := 0; i < len(line); i++ {
				if line[i] >= 0x80 {
					ascii = false
					break
				}
			}
			p.lines = append(p.lines, fastLine{num: num, start: start, text: start + indent, end: end, indent: indent, ascii: ascii})
		}
		start = next
	}
	return true
}

// markerLine reports whether line is the document marker m ("---" or
// "...") followed by a blank or nothing.
func markerLine(line, m string) bool {
	return strings.HasPrefix(line, m) && (len(line) == 3 || line[3] == ' ')
}

// commentOnly reports whether s holds only spaces and possibly a comment
// that follows a space.
func commentOnly(s string) bool {
	t := strings.TrimLeft(s, " ")
	return t == "" || t[0] == '#' && len(t) < len(s)
}

// column is the 1-based character column of offset off on line l.
func (p *fastParser) column(l *fastLine, off int) int {
	if l.ascii {
		return off - l.start + 1
	}
	return utf8.RuneCountInString(p.src[l.start:off]) + 1
}

// isSeqEntry reports whether the content at off is a block sequence entry.
func (p *fastParser) isSeqEntry(off, end int) bool {
	return p.src[off] == '-' && (off+1 == end || p.src[off+1] == ' ')
}

// mapping reads a block mapping whose keys are at column indent, starting
// at the current line. It returns nil when the input leaves the subset.
func (p *fastParser) mapping(indent int) *yaml.Node {
	m := p.node()
	m.Kind, m.Tag = yaml.MappingNode, "!!map"
	base := len(p.stack)
	first := true
	for p.i < len(p.lines) {
		l := &p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent || p.isSeqEntry(l.text, l.end) {
			return nil
		}
		key, valueAt, ok := p.key(l)
		if !ok {
			return nil
		}
		if first {
			m.Line, m.Column = key.Line, key.Column
			first = false
		}
		var v *yaml.Node
		if valueAt < 0 {
			// "key:" — the value is on the following lines, or null.
			colonEnd := -valueAt - 1
			p.i++
			switch next := p.peek(); {
			case next != nil && next.indent > indent:
				v = p.block(next.indent)
			case next != nil && next.indent == indent && p.isSeqEntry(next.text, next.end):
				v = p.sequence(indent)
			default:
				v = p.node()
				v.Kind, v.Tag, v.Line, v.Column = yaml.ScalarNode, "!!null", l.num, p.column(l, colonEnd)
			}
		} else {
			v = p.scalar(l, valueAt)
			p.i++
			if next := p.peek(); v != nil && next != nil && next.indent > indent {
				return nil // a continuation line of a multi-line scalar
			}
		}
		if v == nil {
			return nil
		}
		p.stack = append(p.stack, key, v)
	}
	if first {
		return nil
	}
	m.Content = p.carve(base)
	return m
}

// peek returns the current line, or nil at the end.
func (p *fastParser) peek() *fastLine {
	if p.i < len(p.lines) {
		return &p.lines[p.i]
	}
	return nil
}

// block reads the block node starting at the current line.
func (p *fastParser) block(indent int) *yaml.Node {
	l := &p.lines[p.i]
	if p.isSeqEntry(l.text, l.end) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

// sequence reads a block sequence whose dashes are at column indent.
func (p *fastParser) sequence(indent int) *yaml.Node {
	s := p.node()
	s.Kind, s.Tag = yaml.SequenceNode, "!!seq"
	base := len(p.stack)
	first := true
	for p.i < len(p.lines) {
		l := &p.lines[p.i]
		if l.indent < indent || l.indent == indent && !p.isSeqEntry(l.text, l.end) {
			break
		}
		if l.indent > indent {
			return nil
		}
		if first {
			s.Line, s.Column = l.num, p.column(l, l.text)
			first = false
		}
		at := l.text + 1
		for at < l.end && p.src[at] == ' ' {
			at++
		}
		var v *yaml.Node
		switch {
		case at == l.end || p.src[at] == '#':
			if at < l.end && at == l.text+1 {
				return nil // "-#" is not an entry
			}
			p.i++
			if next := p.peek(); next != nil && next.indent > indent {
				v = p.block(next.indent)
			} else {
				v = p.node()
				v.Kind, v.Tag, v.Line, v.Column = yaml.ScalarNode, "!!null", l.num, p.column(l, l.text+1)
			}
		case p.isSeqEntry(at, l.end):
			return nil // nested sequences on one line
		case p.looksLikeKey(at, l.end):
			// "- key: value": a mapping whose keys are at this column.
			l.text = at
			l.indent = p.column(l, at) - 1
			v = p.mapping(l.indent)
		default:
			v = p.scalar(l, at)
			p.i++
			if next := p.peek(); v != nil && next != nil && next.indent > indent {
				return nil
			}
		}
		if v == nil {
			return nil
		}
		p.stack = append(p.stack, v)
	}
	s.Content = p.carve(base)
	return s
}

// looksLikeKey reports whether the content at off has a key indicator
// (": " or a final ":") outside quotes.
func (p *fastParser) looksLikeKey(off, end int) bool {
	s := p.src[off:end]
	switch s[0] {
	case '"', '\'':
		close := quoteEnd(s)
		return close > 0 && close < len(s) && s[close] == ':'
	case '{', '[':
		return false
	}
	return keyColon(s) >= 0
}

// keyColon finds the ':' ending a plain key in s: followed by a space or
// the end, before any " #" comment. -1 when there is none.
func keyColon(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if i+1 == len(s) || s[i+1] == ' ' {
				return i
			}
		case '#':
			if i > 0 && s[i-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// quoteEnd returns the index after the closing quote of the quoted scalar
// at the start of s, or -1.
func quoteEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		if s[i] == q {
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// key reads "key:" at the start of line l's content. valueAt is the offset
// of the value on the same line, or -(offset after the colon)-1 when the
// line ends (or a comment starts) after the colon.
func (p *fastParser) key(l *fastLine) (key *yaml.Node, valueAt int, ok bool) {
	s := p.src[l.text:l.end]
	var colon int
	key = p.node()
	key.Kind, key.Line, key.Column = yaml.ScalarNode, l.num, p.column(l, l.text)
	switch s[0] {
	case '"', '\'':
		close := quoteEnd(s)
		if close < 0 || close == len(s) || s[close] != ':' || close > 1000 {
			return nil, 0, false
		}
		key.Value, ok = unquote(s[:close])
		if !ok {
			return nil, 0, false
		}
		key.Tag = "!!str"
		if s[0] == '"' {
			key.Style = yaml.DoubleQuotedStyle
		} else {
			key.Style = yaml.SingleQuotedStyle
		}
		colon = close
	default:
		if !plainStart(s) {
			return nil, 0, false
		}
		colon = keyColon(s)
		if colon <= 0 || s[colon-1] == ' ' || colon > 1000 {
			return nil, 0, false
		}
		key.Value = s[:colon]
		key.Tag = resolvePlain(key.Value)
	}
	if colon+1 < len(s) && s[colon+1] != ' ' {
		return nil, 0, false
	}
	at := colon + 1
	for at < len(s) && s[at] == ' ' {
		at++
	}
	if at == len(s) || s[at] == '#' {
		return key, -(l.text + colon + 1) - 1, true
	}
	return key, l.text + at, true
}

// plainStart reports whether s can start a plain scalar the fast path
// reads: not an indicator, except "-", "?" and ":" before a non-space.
func plainStart(s string) bool {
	switch s[0] {
	case ' ', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		return len(s) > 1 && s[1] != ' '
	}
	return true
}

// scalar reads the single-line scalar value at offset at of line l, which
// must be all that is left on the line apart from a comment.
func (p *fastParser) scalar(l *fastLine, at int) *yaml.Node {
	s := p.src[at:l.end]
	n := p.node()
	n.Kind, n.Line, n.Column = yaml.ScalarNode, l.num, p.column(l, at)
	rest := ""
	switch s[0] {
	case '{', '[':
		f, end := p.flow(l, at)
		if f == nil {
			return nil
		}
		rest = p.src[end:l.end]
		if rest != "" && rest[0] != ' ' {
			return nil
		}
		n = f
	case '"', '\'':
		close := quoteEnd(s)
		if close < 0 {
			return nil
		}
		v, ok := unquote(s[:close])
		if !ok {
			return nil
		}
		n.Value, n.Tag, rest = v, "!!str", s[close:]
		if s[0] == '"' {
			n.Style = yaml.DoubleQuotedStyle
		} else {
			n.Style = yaml.SingleQuotedStyle
		}
		if rest != "" && rest[0] != ' ' {
			return nil
		}
	default:
		if !plainStart(s) {
			return nil
		}
		end := len(s)
		for i := 1; i < len(s); i++ {
			if s[i] == '#' && s[i-1] == ' ' {
				end = i
				break
			}
		}
		v := strings.TrimRight(s[:end], " ")
		if strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
			return nil
		}
		n.Value, n.Tag = v, resolvePlain(v)
		return n
	}
	rest = strings.TrimLeft(rest, " ")
	if rest != "" && rest[0] != '#' {
		return nil
	}
	return n
}

// flow reads a flow collection ({...} or [...]) at offset at of line l,
// which must close on the same line: entries are plain or quoted scalars or
// nested flow collections, mapping entries are "key: value", no empty
// entries or trailing commas. It returns the node and the offset after the
// closing bracket, or nil.
func (p *fastParser) flow(l *fastLine, at int) (*yaml.Node, int) {
	n := p.node()
	n.Line, n.Column, n.Style = l.num, p.column(l, at), yaml.FlowStyle
	isMap := p.src[at] == '{'
	closer := byte(']')
	if isMap {
		n.Kind, n.Tag, closer = yaml.MappingNode, "!!map", '}'
	} else {
		n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
	}
	base := len(p.stack)
	fail := func() (*yaml.Node, int) {
		p.stack = p.stack[:base]
		return nil, 0
	}
	i := p.skipSpaces(at+1, l.end)
	if i < l.end && p.src[i] == closer {
		return n, i + 1
	}
	for i < l.end {
		if isMap {
			k, end := p.flowScalar(l, i, true)
			if k == nil || end+1 >= l.end || p.src[end] != ':' || p.src[end+1] != ' ' || end-i > 1000 {
				return fail()
			}
			p.stack = append(p.stack, k)
			i = p.skipSpaces(end+1, l.end)
			if i == l.end {
				return fail()
			}
		}
		var v *yaml.Node
		var end int
		if c := p.src[i]; c == '{' || c == '[' {
			v, end = p.flow(l, i)
		} else {
			v, end = p.flowScalar(l, i, false)
		}
		if v == nil {
			return fail()
		}
		p.stack = append(p.stack, v)
		i = p.skipSpaces(end, l.end)
		switch {
		case i == l.end:
			return fail()
		case p.src[i] == closer:
			n.Content = p.carve(base)
			return n, i + 1
		case p.src[i] != ',':
			return fail()
		}
		i = p.skipSpaces(i+1, l.end)
		if i == l.end || p.src[i] == closer || p.src[i] == ',' {
			return fail() // trailing or empty entry
		}
	}
	return fail()
}

func (p *fastParser) skipSpaces(i, end int) int {
	for i < end && p.src[i] == ' ' {
		i++
	}
	return i
}

// flowScalar reads a scalar inside a flow collection: quoted, or plain up
// to the next ',', ']', '}' (or, for a key, ':'), without characters that
// are special there. It returns the node and the offset after its text.
func (p *fastParser) flowScalar(l *fastLine, at int, key bool) (*yaml.Node, int) {
	s := p.src[at:l.end]
	n := p.node()
	n.Kind, n.Line, n.Column = yaml.ScalarNode, l.num, p.column(l, at)
	if s[0] == '"' || s[0] == '\'' {
		close := quoteEnd(s)
		if close < 0 {
			return nil, 0
		}
		v, ok := unquote(s[:close])
		if !ok {
			return nil, 0
		}
		n.Value, n.Tag = v, "!!str"
		if s[0] == '"' {
			n.Style = yaml.DoubleQuotedStyle
		} else {
			n.Style = yaml.SingleQuotedStyle
		}
		return n, at + close
	}
	if !plainStart(s) || s[0] == '-' || s[0] == '?' || s[0] == ':' {
		return nil, 0
	}
	end := 0
scan:
	for ; end < len(s); end++ {
		switch s[end] {
		case ',', ']', '}':
			break scan
		case ':':
			if key {
				break scan
			}
			return nil, 0
		case '#', '[', '{', '"', '\'', '?':
			return nil, 0 // '?' ends a plain scalar in flow context (libyaml)
		}
	}
	v := strings.TrimRight(s[:end], " ")
	if v == "" || end == len(s) {
		return nil, 0
	}
	n.Value, n.Tag = v, resolvePlain(v)
	return n, at + len(v)
}

// unquote decodes a single-line quoted scalar without escapes.
func unquote(q string) (string, bool) {
	body := q[1 : len(q)-1]
	if q[0] == '"' {
		return body, !strings.ContainsAny(body, "\\\"")
	}
	if strings.Contains(body, "''") {
		return strings.ReplaceAll(body, "''", "'"), true
	}
	return body, !strings.Contains(body, "'")
}

// resolvePlain returns the tag yaml.v3 resolves an untagged plain scalar
// to (its resolve.go, tag only).
func resolvePlain(in string) string {
	if in == "" {
		return "!!null"
	}
	switch c := in[0]; {
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if len(in) == 1 && (c == '+' || c == '-') {
			return "!!str"
		}
		switch in {
		case "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
			return "!!float"
		}
		if isTimestamp(in) {
			return "!!timestamp"
		}
		// Every int or float form is made of these characters only.
		for i := 0; i < len(in); i++ {
			if strings.IndexByte("0123456789abcdefABCDEFxXoO_+-.", in[i]) < 0 {
				return "!!str"
			}
		}
		plain := in
		if strings.IndexByte(in, '_') >= 0 {
			plain = strings.ReplaceAll(in, "_", "")
		}
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return "!!int"
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return "!!int"
		}
		if yamlFloat(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return "!!float"
			}
		}
		for _, pre := range []struct {
			prefix string
			base   int
		}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
			if rest, ok := strings.CutPrefix(plain, pre.prefix); ok {
				sign := ""
				if pre.prefix[0] == '-' {
					sign = "-"
				}
				if _, err := strconv.ParseInt(sign+rest, pre.base, 64); err == nil {
					return "!!int"
				}
				if sign == "" {
					if _, err := strconv.ParseUint(rest, pre.base, 64); err == nil {
						return "!!int"
					}
				}
			}
		}
	case c == '.':
		switch in {
		case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF":
			return "!!float"
		}
		if _, err := strconv.ParseFloat(in, 64); err == nil {
			return "!!float"
		}
	case strings.IndexByte("yYnNtTfFoO~<", c) >= 0:
		switch in {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool"
		case "~", "null", "Null", "NULL":
			return "!!null"
		case "<<":
			return "!!merge"
		}
	}
	return "!!str"
}

// yamlFloat is yaml.v3's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
func yamlFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// timestampFormats are the layouts yaml.v3 tries for plain timestamps.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// isTimestamp is yaml.v3's parseTimestamp, as a predicate.
func isTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range timestampFormats {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}
