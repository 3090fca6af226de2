package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// FuzzParseMarker: any comment (untrusted: it comes from the repository)
// is read without panicking; a marker read without error renders back to
// a comment that reads as the same marker.
func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{
		`# {"$imagepolicy": "flux-system:podinfo"}`,
		`#{"$imagepolicy":"ns:p:tag"}`,
		`## {"$imagepolicy": "ns:p:name", "other": "x"}`,
		`# {"$imagepolicy": "p"}`,
		`# {"$imagepolicy": 1}`,
		`# {"$imagepolicy": "a:b:c:d"}`,
		`# {"$imagepolicy": "ns:p:digest"} trailing`,
		`# {"\u0024imagepolicy": "ns:p"}`,
		`# plain comment`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		m, ok, err := parseMarker(c)
		if !ok && err != nil {
			t.Fatalf("not a marker, yet an error: %v", err)
		}
		if !ok || err != nil {
			return
		}
		if m.Namespace == "" || m.Name == "" || strings.Contains(m.Namespace+m.Name, ":") {
			t.Fatalf("marker %+v from %q", m, c)
		}
		back, ok2, err2 := parseMarker(`# {"` + markerKey + `": "` + jsonEscape(m.String()) + `"}`)
		if !ok2 || err2 != nil || back != m {
			t.Fatalf("%q → %+v does not read back (%+v, %v, %v)", c, m, back, ok2, err2)
		}
	})
}

// jsonEscape escapes s for a JSON string.
func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markerSeeds are marker documents for the fuzzer to mutate.
var markerSeeds = []string{
	"kind: Pod\nspec:\n  containers:\n  - name: a\n    image: r/i:1.0 # {\"$imagepolicy\": \"ns:p\"}\n",
	"kind: HelmRelease\nspec:\n  values:\n    image:\n      repository: r/i # {\"$imagepolicy\": \"ns:p:name\"}\n      tag: \"1.0\" # {\"$imagepolicy\": \"ns:p:tag\"}\n",
	"images:\n- name: i\n  newTag: '1' # {\"$imagepolicy\": \"ns:p:tag\"}\n  digest: x # {\"$imagepolicy\": \"ns:p:digest\"}\n",
	"a: {b: r/i:1 # {\"$imagepolicy\": \"ns:p\"}\n}\n",
	"a: &x r/i:1 # {\"$imagepolicy\": \"ns:p\"}\nb: *x # {\"$imagepolicy\": \"ns:p\"}\n",
	"a: |\n  r/i:1\n  # {\"$imagepolicy\": \"ns:p\"}\n",
}

// FuzzMarkerEdit: every marker site of a fuzzed file, bound to a policy
// whose ImageRepository is its own image (or r/i), is either refused for a
// documented reason or edited so that only its marked scalars change, and
// the file then reads the new value at the site and nothing else moved.
func FuzzMarkerEdit(f *testing.F) {
	for _, s := range markerSeeds {
		f.Add([]byte(s), "v2", true)
	}
	names, _ := filepath.Glob("testdata/markers/*.yaml")
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "5.1.0", false)
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
		n := 0
		for i := range sites {
			if sites[i].Flux == nil {
				continue
			}
			if n++; n > 8 {
				break
			}
			checkMarkerEdit(t, data, sites, i, tag, digest)
		}
	})
}

// TestMarkerEditsOnlyMarkedBytes covers item 7: on every fixture, each
// marker site edited to a new tag (and digest) changes its marked scalars
// and not one other byte.
func TestMarkerEditsOnlyMarkedBytes(t *testing.T) {
	files, _, _ := readMarkerFixtures(t)
	edited := 0
	for name, data := range files {
		sites, _ := Parse(name, data)
		for i := range sites {
			if sites[i].Flux != nil && checkMarkerEdit(t, data, sites, i, "5.1.0", testDigest) {
				edited++
			}
		}
	}
	if edited < 6 {
		t.Fatalf("only %d marker sites edited", edited)
	}
}

// checkMarkerEdit binds site i and retags it, checking the edit property;
// it reports whether the site was edited.
func checkMarkerEdit(t *testing.T, data []byte, sites []Site, i int, tag, digest string) bool {
	t.Helper()
	s := sites[i]
	image := "r/i"
	if s.Ref.Path != "" {
		image = s.Ref.Name()
	}
	p := ImagePolicy{Namespace: s.Flux.Namespace, Name: s.Flux.Name, RepositoryNamespace: "ns", RepositoryName: "r",
		Order: OrderAlphabetical, DigestReflection: DigestAlways}
	b := Bind(s, p, image)
	reps, next, err := Retag(data, b, tag, digest)
	_, whole := b.Parts[RoleImage]
	_, tagPart := b.Parts[RoleTag]
	switch {
	case err == nil:
	case errors.Is(err, ErrReadOnly) && b.ReadOnly != "":
		return false
	case errors.Is(err, ErrNoTagPlace) && !whole && !tagPart:
		return false
	case errors.Is(err, ErrInvalid) && !b.Flux.Resolved:
		return false
	case errors.Is(err, ErrDigestRequired) && digest == "":
		return false
	case errors.Is(err, ErrInvalid) && len(b.Ref.Name())+len(tag)+len(digest) > 200:
		return false
	case errors.Is(err, ErrInvalid) && imageref.ValidateDigest(b.Ref.Digest) != nil:
		return false // a :digest field holding no digest
	case errors.Is(err, ErrVerify) && sharedWithV1(sites, b):
		// A Flux v1 reading of the same scalar would break (a whole image
		// marked on a repository: key beside a tag:), so hoist refuses.
		return false
	default:
		t.Fatalf("site %s → %s: %v\n%s", s.Container, tag, err, data)
	}
	if next.Tag != tag {
		t.Fatalf("%s: Retag returned %s for tag %s", s.Container, next, tag)
	}
	out, err := Apply(data, reps)
	if err != nil {
		t.Fatalf("%s: Apply: %v", s.Container, err)
	}
	at, o := 0, 0
	for _, r := range reps {
		part := false
		for _, sc := range b.Parts {
			part = part || sc.Start == r.Start && sc.End == r.End
		}
		if !part {
			t.Fatalf("%s: replacement [%d,%d) is not a marked scalar", s.Container, r.Start, r.End)
		}
		n := r.Start - at
		if !bytes.Equal(out[o:o+n], data[at:r.Start]) {
			t.Fatalf("%s: bytes before offset %d changed", s.Container, r.Start)
		}
		o += n + len(r.Text)
		at = r.End
	}
	if !bytes.Equal(out[o:], data[at:]) {
		t.Fatalf("%s: bytes after offset %d changed", s.Container, at)
	}
	after, _ := Parse("f.yaml", out)
	if len(after) != len(sites) {
		t.Fatalf("%s: %d sites after the edit, %d before\n%s", s.Container, len(after), len(sites), out)
	}
	a := after[i]
	if a.Flux == nil || a.Container != s.Container {
		t.Fatalf("site %d is %s after the edit, was %s", i, a.Container, s.Container)
	}
	if fileRef(a, a.Ref) != fileRef(b, next) {
		t.Fatalf("%s reads %s after the edit, want %s\n%s", s.Container, a.Ref, next, out)
	}
	if _, name := b.Parts[RoleRepository]; name && a.Parts[RoleRepository].Value != b.Parts[RoleRepository].Value {
		t.Fatalf("%s: the :name field changed", s.Container)
	}
	return true
}

// sharedWithV1 reports whether a Flux v1 site reads one of s's scalars.
func sharedWithV1(sites []Site, s Site) bool {
	for _, o := range sites {
		if o.Flux != nil {
			continue
		}
		for _, a := range o.Parts {
			for _, b := range s.Parts {
				if a.Start < b.End && b.Start < a.End {
					return true
				}
			}
		}
	}
	return false
}
