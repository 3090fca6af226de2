package manifest

import "bytes"

// chunk is one YAML document's bytes within a file, found by splitting at
// document markers ("---" and "..." at the start of a line, which YAML
// forbids inside any scalar), so a document that does not parse leaves the
// others readable.
type chunk struct {
	start, end int  // byte range in the file
	line       int  // 1-based line of start
	doc        bool // holds a document: a "---" marker or any content
	index      int  // 0-based document index when doc
}

// splitDocuments cuts data into chunks at document markers. Directive and
// comment lines before a "---" stay with the document they introduce.
func splitDocuments(data []byte) []chunk {
	lf := onlyLF(data)
	var out []chunk
	cur := chunk{start: 0, line: 1}
	content, marker := false, false
	docs := 0
	closeAt := func(end, nextLine int) {
		cur.end = end
		cur.doc = content || marker
		if cur.doc {
			cur.index = docs
			docs++
		}
		if cur.end > cur.start || cur.doc {
			out = append(out, cur)
		}
		cur = chunk{start: end, line: nextLine}
		content, marker = false, false
	}
	line := 1
	pos := 0
	if hasBOM(data) {
		pos = 3
	}
	ls := pos // start of the current line's text (after a BOM on line 1)
	for ls <= len(data) {
		var le, next int
		if lf {
			le, next = lfLineEnd(data, ls)
		} else {
			le, next = lineEnd(data, ls)
		}
		text := data[ls:le]
		switch {
		case isMarker(text, '-'):
			if content || marker {
				closeAt(ls, line)
			}
			marker = true
		case isMarker(text, '.'):
			closeAt(next, line+1)
		case len(text) > 0 && text[0] == '%':
			if content || marker {
				closeAt(ls, line)
			}
		case !blankOrComment(text):
			content = true
		}
		if next == le { // no line break: end of data
			break
		}
		ls = next
		line++
	}
	if cur.start < len(data) || content || marker {
		closeAt(len(data), line)
	}
	return out
}

// isMarker reports whether a line is a document marker made of c ("---" or
// "..."): three of c followed by a blank or the end of the line.
func isMarker(line []byte, c byte) bool {
	if len(line) < 3 || line[0] != c || line[1] != c || line[2] != c {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t'
}

// blankOrComment reports whether a line holds nothing but blanks or a comment.
func blankOrComment(line []byte) bool {
	for _, b := range line {
		switch b {
		case ' ', '\t':
			continue
		case '#':
			return true
		}
		return false
	}
	return true
}

// lineEnd returns the end of the line starting at i (before its break) and
// the start of the next line (== end when there is no break). Line breaks are
// the ones the YAML scanner counts: CRLF, CR, LF, NEL, LS and PS.
func lineEnd(data []byte, i int) (end, next int) {
	for j := i; j < len(data); j++ {
		if n := breakLen(data, j); n > 0 {
			return j, j + n
		}
	}
	return len(data), len(data)
}

// onlyLF reports whether LF is the only line break data can hold (no CR,
// and no lead byte of NEL, LS or PS), so lines can be found with
// bytes.IndexByte.
func onlyLF(data []byte) bool {
	return bytes.IndexByte(data, '\r') < 0 && bytes.IndexByte(data, 0xC2) < 0 && bytes.IndexByte(data, 0xE2) < 0
}

// lfLineEnd is lineEnd for data where onlyLF holds.
func lfLineEnd(data []byte, i int) (end, next int) {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j, i + j + 1
	}
	return len(data), len(data)
}

// breakLen is the length of the line break at data[i], or 0.
func breakLen(data []byte, i int) int {
	switch data[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xC2:
		if i+1 < len(data) && data[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

// hasBOM reports whether data starts with a UTF-8 byte order mark.
func hasBOM(data []byte) bool {
	return len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF
}
