package manifest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameTree compares the fields of two node trees that Parse relies on:
// kind, tag, value, style, position and children (comments aside; the
// document node's own position aside).
func sameTree(a, b *yaml.Node, path string) error {
	if a == nil || b == nil {
		if a != b {
			return fmt.Errorf("%s: one tree is nil", path)
		}
		return nil
	}
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.Kind != yaml.DocumentNode && (a.Line != b.Line || a.Column != b.Column) {
		return fmt.Errorf("%s: fast {kind %v tag %s value %q style %v at %d:%d} yaml.v3 {kind %v tag %s value %q style %v at %d:%d}",
			path, a.Kind, a.Tag, a.Value, a.Style, a.Line, a.Column, b.Kind, b.Tag, b.Value, b.Style, b.Line, b.Column)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: %d children, yaml.v3 %d", path, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkFast asserts that where fastDecode reads a document, yaml.v3 reads
// it without error into the same tree.
func checkFast(t testing.TB, doc []byte) bool {
	t.Helper()
	fast, release, ok := fastDecode(doc)
	if !ok {
		return false
	}
	defer release()
	var want yaml.Node
	if err := yaml.Unmarshal(doc, &want); err != nil {
		t.Fatalf("fast path read a document yaml.v3 rejects (%v):\n%s", err, doc)
	}
	if err := sameTree(fast, &want, ""); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return true
}

var fastCases = []string{
	"a: 1\n",
	"a: b\nc: d\n",
	"a:\n  b: c\n  d:\n    e: f\n",
	"a:\n- x\n- y\nb: 1\n",
	"a:\n  - x\n  -   y # c\n",
	"items:\n- name: a\n  image: b\n- name: c\n  ports:\n  - containerPort: 80\n  image: d\n",
	"a:\nb: ~\nc: null\nd: \"\"\ne: ''\n",
	"a: 'it''s'\nb: \"x y\" # c\nc: 1.2\nd: 1.2.3\ne: 2021-01-01\nf: true\ng: 0x1F\nh: 1_000\ni: .inf\nj: -1\nk: +.5\n",
	"'quoted key': 1\n\"dq\": 2\n",
	"a: b#c\nd: http://x.y/z\ne: -Xmx512m\nf: ?x\ng: :y\n",
	"---\na: 1\n...\n# end\n",
	"--- # c\na: 1\n",
	"# head\n\na: 1 # x\n\n  # indented comment\nb: 2\n",
	"a: 1\r\nb:\r\n  c: 'd'\r\n",
	"ключ: значение\n日本: {x: 1}\n",
	"ünï: cödé\nb: é\n",
	"<<:\n  a: 1\nb: 2\n",
	"a: <<\n",
	"-\n",
	"a:\n  -\n  - # c\n  - x\n",
	"a: b\n  c\n",
	"a: b\n  c: d\n",
	"a: 1\n- b\n",
	"a: b: c\n",
	"a: &x 1\n",
	"a: *x\n",
	"a: !!str 1\n",
	"a: |\n  x\n",
	"a: 'x\n  y'\n",
	"a: \"x\\ty\"\n",
	"a:\tb\n",
	" a: 1\n",
	"a:  \n",
	"a: -\n",
	"a: - b\n",
	"a: 1\n b: 2\n",
	"a:\n    b: 1\n  c: 2\n",
	"%YAML 1.1\n---\na: 1\n",
	"\"a\":b\n",
	"a: \"b\"c\n",
	"a: 'b' # c\n",
	"? a\n: b\n",
	"a: 0b101\nb: -0b1\nc: 0o17\nd: 0777\ne: 1e3\nf: 12e\ng: +\nh: -.inf\nj: +12\nk: 0x_1\nl: 1__0\nm: 0b\nn: -0o7\ni: 2001-12-14t21:59:43.10-05:00\n",
	"a:\r\n- b\r\n",
	"a: b\r",
	"a: [1, 2]\n",
	"a:\n- - x\n",
	"a:\n  b: 1\n# c\n  c: 2\n",
}

func TestFastDecodeMatchesYAML(t *testing.T) {
	read := 0
	for _, c := range fastCases {
		if checkFast(t, []byte(c)) {
			read++
		}
	}
	for _, f := range testdataFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range splitDocuments(data) {
			if c.doc && checkFast(t, data[c.start:c.end]) {
				read++
			}
		}
	}
	if read < 40 {
		t.Errorf("the fast path read only %d documents", read)
	}
}

func TestFastDecodeRejects(t *testing.T) {
	for _, c := range []string{"a: &x 1\n", "a: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a: [1\n", "a: \"x\\ty\"\n",
		"a:\tb\n", "a: b\n  c\n", "%YAML 1.1\n---\na: 1\n", "- a\n", "x\n", "", "# only\n", "---\n", "a: 1\n---\nb: 2\n"} {
		if _, _, ok := fastDecode([]byte(c)); ok {
			t.Errorf("fast path read %q", c)
		}
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, c := range append(fastCases, flowCases...) {
		f.Add([]byte(c))
	}
	for _, s := range smallSeeds {
		f.Add([]byte(s))
	}
	for _, name := range testdataFiles(f) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if !strings.Contains(name, "bomb") {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkFast(t, doc)
	})
}

var flowCases = []string{
	"a: {cpu: 100m, memory: 128Mi}\n",
	"a: {}\nb: []\nc: { }\nd: [ ]\n",
	"a: [x, 'y', \"z\", 1, true, ~]\n",
	"a: {b: {c: [1, {d: e}]}} # c\n",
	"a: { b: c , d: e }\n",
	"- {name: a, image: b}\n",
	"a:\n- {name: a, image: 'b:1'}\n- [x]\n",
	"a: {b: c,}\n",
	"a: {b: c, , d: e}\n",
	"a: {b: }\n",
	"a: {b}\n",
	"a: {b: c\n",
	"a: {b: c}x\n",
	"a: {b: c} x\n",
	"a: {b: c:d}\n",
	"a: {\"b\": c}\n",
	"a: {\"b\":c}\n",
	"a: [a b, c]\n",
	"a: {b: -1}\n",
	"a: {b: http://x}\n",
	"a: {b: c#d}\n",
	"a: {b: 'c'd}\n",
	"a: [{b: c}, [d]]\n",
	"{a: b}\n",
	"a: {b: c, b: d}\n",
	"a: {b:\n  c}\n",
}

func TestFastDecodeFlow(t *testing.T) {
	read := 0
	for _, c := range flowCases {
		if checkFast(t, []byte(c)) {
			read++
		}
	}
	if read < 10 {
		t.Errorf("the fast path read only %d flow documents", read)
	}
}

// FuzzResolvePlain holds resolvePlain to the tag yaml.v3 resolves a plain
// scalar to.
func FuzzResolvePlain(f *testing.F) {
	for _, s := range []string{"1", "-1", "+1", "1.0", "1e3", "1_000", "0x1F", "0o17", "0b101", "-0b1", "0777", ".5", "+.inf",
		".NaN", "true", "False", "NULL", "~", "<<", "2021-01-01", "2021-1-1 10:00:00", "2001-12-14t21:59:43.10-05:00",
		"1.2.3", "v1", "100m", "12e", "0x", "-", "9223372036854775808", "18446744073709551616", "1__0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte("k: "+s+"\n"), &n) != nil || len(n.Content) == 0 || len(n.Content[0].Content) != 2 {
			return
		}
		v := n.Content[0].Content[1]
		if v.Kind != yaml.ScalarNode || v.Style != 0 || v.Value != s {
			return
		}
		if got := resolvePlain(s); got != v.Tag {
			t.Fatalf("resolvePlain(%q) = %s, yaml.v3 %s", s, got, v.Tag)
		}
	})
}
