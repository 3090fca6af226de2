package manifest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// addTestdataSeeds seeds a fuzz target with every testdata file.
func addTestdataSeeds(f *testing.F, extra ...any) {
	for _, name := range testdataFiles(f) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]any{data}, extra...)...)
	}
}

// smallSeeds are short documents exercising awkward corners, easier for the
// fuzzer to mutate than whole testdata files.
var smallSeeds = []string{
	"kind: Pod\nspec:\n  containers:\n  - {name: a, image: b}\n",
	"kind: Pod\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: 'b:1' # c\r\n",
	"kind: HelmRelease\nspec:\n  values:\n    image: &i \"r/i\"\n    tag: !!str 1.0\n    x: {image: *i, tag: 'v1'}\n",
	"kind: HelmRelease\nspec: {values: {a: {image: {repository: r, tag: v, digest: \"sha256:" +
		"0000000000000000000000000000000000000000000000000000000000000000\"}}}}\n",
	"\ufeffkind: HelmRelease\nspec:\n  values:\n    \u00e9: {image: r\u0085, tag: v}\n---\nkind: Pod\n",
	"kind: HelmRelease\nmetadata:\n  annotations:\n    repository.fluxcd.io/a: x.y\n    tag.fluxcd.io/a: x.t\nspec:\n  values:\n    x: {y: r, t: v}\n",
	"kind: HelmRelease\nspec:\n  values:\n    b: &b {image: r, tag: v}\n    c: {<<: [*b, *b], tag: w}\n",
	"kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: >-\n            r:v\n",
}

// FuzzParse checks that Parse never panics, that every editable scalar's
// span holds exactly its value, that every site's reference is valid, and
// that documents are split as yaml.v3 reads the whole stream.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f)
	for _, s := range append(smallSeeds, markerSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sites, problems := Parse("f.yaml", data)
		checkSpans(t, "f.yaml", data, sites, problems)
		last := -1
		for _, s := range sites {
			if s.Flux != nil {
				// A marker site's host and path come from its
				// ImageRepository and its tag is whatever the field holds:
				// FuzzMarkerEdit checks those.
				continue
			}
			if _, err := imageref.Parse(s.Ref.String()); err != nil {
				t.Fatalf("site %s reads invalid reference %q: %v", s.Container, s.Ref, err)
			}
			if s.Document < last {
				t.Fatalf("sites out of document order")
			}
			last = s.Document
		}
		// Where yaml.v3 reads the whole stream, it sees as many documents
		// as the splitter.
		n, ok := countDocuments(data)
		if !ok {
			return
		}
		chunks := 0
		for _, c := range splitDocuments(data) {
			if c.doc {
				chunks++
			}
		}
		if chunks != n {
			t.Fatalf("yaml.v3 reads %d documents, the splitter %d", n, chunks)
		}
	})
}

// countDocuments counts the documents yaml.v3 decodes from the whole stream;
// ok is false when the stream does not decode.
func countDocuments(data []byte) (n int, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if err == io.EOF {
			return n, true
		}
		if err != nil {
			return 0, false
		}
		n++
	}
}

// FuzzRetag checks the edit property (checkEdit) for every site of fuzzed
// files with fuzzed tags: an edit either succeeds and holds the property, or
// is refused for one of the documented reasons.
func FuzzRetag(f *testing.F) {
	addTestdataSeeds(f, "v2.0.1", true)
	for i, s := range append(smallSeeds, markerSeeds...) {
		f.Add([]byte(s), []string{"1.10", "v2", "true", "0x1F"}[i%4], i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, tag string, withDigest bool) {
		if imageref.ValidateTag(tag) != nil {
			tag = "v2"
		}
		digest := ""
		if withDigest {
			digest = testDigest
		}
		sites, _ := Parse("f.yaml", data)
		for i := range sites {
			if i == 8 {
				break
			}
			err := checkEdit(t, "f.yaml", data, i, tag, digest)
			s := sites[i]
			switch {
			case err == nil:
			case errors.Is(err, ErrReadOnly) && s.ReadOnly != "":
			case errors.Is(err, ErrInvalid) && s.Flux != nil && !s.Flux.Resolved: // FuzzMarkerEdit binds them
			case errors.Is(err, ErrNoTagPlace) && s.Shape == ShapeRepository:
			case errors.Is(err, ErrDigestRequired) && digest == "" && s.Ref.Digest != "":
			case errors.Is(err, ErrInvalid) && len(s.Ref.Name())+len(tag)+len(digest) > 200:
			default:
				t.Fatalf("site %d (%s) → %s: %v\n%s", i, s.Container, tag, err, data)
			}
		}
	})
}
