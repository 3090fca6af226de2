package manifest

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// lineStart returns the byte offset in the file where line (1-based,
// relative to the chunk) begins. yaml.v3 counts lines at CRLF, CR, LF, NEL,
// LS and PS, and skips a leading BOM without counting it as a column.
func (d *doc) lineStart(line int) int {
	if d.lines == nil {
		start := d.c.start
		if start == 0 && hasBOM(d.data) {
			start = 3
		}
		d.lines = append(d.lines, start)
		if d.lf {
			for i := start; ; {
				j := bytes.IndexByte(d.data[i:d.c.end], '\n')
				if j < 0 {
					break
				}
				i += j + 1
				d.lines = append(d.lines, i)
			}
		} else {
			for i := start; i < d.c.end; {
				if n := breakLen(d.data, i); n > 0 {
					i += n
					d.lines = append(d.lines, i)
					continue
				}
				i++
			}
		}
	}
	if line < 1 {
		return d.c.start
	}
	if line > len(d.lines) {
		return d.c.end
	}
	return d.lines[line-1]
}

// offset converts a yaml.v3 position (1-based line within the chunk,
// 1-based column counted in characters) to a byte offset in the file.
func (d *doc) offset(line, column int) int {
	off := d.lineStart(line)
	for i := 1; i < column && off < d.c.end; i++ {
		if c := d.data[off]; c < utf8.RuneSelf {
			if c == '\n' || c == '\r' {
				break
			}
			off++
			continue
		}
		if breakLen(d.data, off) > 0 {
			break
		}
		_, size := utf8.DecodeRune(d.data[off:d.c.end])
		off += size
	}
	return off
}

// absLine converts a chunk-relative line to a file line.
func (d *doc) absLine(line int) int { return d.c.line + line - 1 }

// lineOf returns the file line holding byte offset off.
func (d *doc) lineOf(off int) int {
	d.lineStart(1)
	lo, hi := 0, len(d.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return d.c.line + lo
}

// scalar locates scalar node n (already dereferenced) in the file. parent is
// the collection it is written in, used to tell flow context. When the text
// cannot be located exactly the scalar is Frozen.
func (d *doc) scalar(n, parent *yaml.Node) Scalar {
	s := Scalar{Value: n.Value, Frozen: true}
	if parent != nil && parent.Style&yaml.FlowStyle != 0 {
		s.Flow = true
	}
	start := d.skipProperties(d.offset(n.Line, n.Column))
	s.Start, s.End = start, start
	s.Line = d.lineOf(start)
	if start >= d.c.end {
		return s
	}
	var end int
	var ok bool
	switch d.data[start] {
	case '|':
		s.Style = Literal
		return s
	case '>':
		s.Style = Folded
		return s
	case '\'':
		s.Style = SingleQuoted
		end, ok = scanSingle(d.data[:d.c.end], start, n.Value)
	case '"':
		s.Style = DoubleQuoted
		end, ok = scanDouble(d.data[:d.c.end], start, n.Value)
	default:
		s.Style = Plain
		end, ok = scanPlain(d.data[:d.c.end], start, n.Value)
	}
	if ok {
		s.End, s.Frozen = end, false
	}
	return s
}

// skipProperties moves past anchors (&a), tags (!!str) and the blanks,
// comments and line breaks that may follow them, to the scalar's text.
func (d *doc) skipProperties(off int) int {
	data := d.data[:d.c.end]
	for off < len(data) && (data[off] == '&' || data[off] == '!') {
		for off < len(data) && !isBlankOrBreak(data, off) {
			off++
		}
		off = skipSpace(data, off)
	}
	return off
}

// skipSpace moves past blanks, comments and line breaks.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch {
		case data[off] == ' ' || data[off] == '\t':
			off++
		case data[off] == '#':
			for off < len(data) && breakLen(data, off) == 0 {
				off++
			}
		case breakLen(data, off) > 0:
			off += breakLen(data, off)
		default:
			return off
		}
	}
	return off
}

func isBlankOrBreak(data []byte, i int) bool {
	return data[i] == ' ' || data[i] == '\t' || breakLen(data, i) > 0
}

// scanPlain checks that the plain scalar at start is written on one line
// exactly as value (a plain scalar has no escapes, so its text is its
// value), and returns its end.
func scanPlain(data []byte, start int, value string) (int, bool) {
	end := start + len(value)
	if value == "" || end > len(data) || string(data[start:end]) != value {
		return 0, false
	}
	for i := start; i < end; i++ {
		if breakLen(data, i) > 0 {
			return 0, false
		}
	}
	if end < len(data) {
		switch c := data[end]; {
		case c == ' ' || c == '\t' || c == ',' || c == ']' || c == '}' || breakLen(data, end) > 0:
		default:
			return 0, false
		}
	}
	// The scalar must not continue on the next line (a multi-line plain
	// scalar whose first line happens to equal the value cannot: its value
	// would hold the folded rest).
	return end, true
}

// scanSingle finds the closing quote of the single-quoted scalar at start on
// the same line and checks that its decoded text is value.
func scanSingle(data []byte, start int, value string) (int, bool) {
	var b strings.Builder
	for i := start + 1; i < len(data); i++ {
		c := data[i]
		if breakLen(data, i) > 0 {
			return 0, false
		}
		if c == '\'' {
			if i+1 < len(data) && data[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return i + 1, b.String() == value
		}
		b.WriteByte(c)
	}
	return 0, false
}

// scanDouble finds the closing quote of the double-quoted scalar at start on
// the same line and checks that its decoded text is value.
func scanDouble(data []byte, start int, value string) (int, bool) {
	var b strings.Builder
	for i := start + 1; i < len(data); i++ {
		c := data[i]
		if breakLen(data, i) > 0 {
			return 0, false
		}
		switch c {
		case '"':
			return i + 1, b.String() == value
		case '\\':
			if i+1 >= len(data) {
				return 0, false
			}
			n, r, ok := unescape(data[i+1:])
			if !ok {
				return 0, false
			}
			b.WriteString(r)
			i += n
		default:
			b.WriteByte(c)
		}
	}
	return 0, false
}

// unescape decodes the escape after a backslash in a double-quoted scalar;
// n is the number of bytes it takes after the backslash.
func unescape(rest []byte) (n int, s string, ok bool) {
	if r, ok := simpleEscapes[rest[0]]; ok {
		return 1, r, true
	}
	width := 0
	switch rest[0] {
	case 'x':
		width = 2
	case 'u':
		width = 4
	case 'U':
		width = 8
	}
	if width == 0 || len(rest) < 1+width {
		return 0, "", false
	}
	v, err := strconv.ParseUint(string(rest[1:1+width]), 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, "", false
	}
	return 1 + width, string(rune(v)), true
}

// simpleEscapes are YAML's one-character escapes in double-quoted scalars.
var simpleEscapes = map[byte]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v",
	'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '\'': "'", '/': "/",
	'\\': "\\", 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}
