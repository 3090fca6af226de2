package manifest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// checkEdit is the edit property for site i of data: Retag it to
// tag/digest and Apply; then the site reads the new value, every other
// site reads what it did, the edit touched only scalars of that site, and
// every byte outside the replaced spans is identical. It returns Retag's
// error (after checking ReadOnly sites are refused) so callers can decide
// which refusals they expect.
func checkEdit(t testing.TB, file string, data []byte, i int, tag, digest string) error {
	t.Helper()
	sites, problems := Parse(file, data)
	s := sites[i]
	reps, next, err := Retag(data, s, tag, digest)
	if err != nil {
		if s.ReadOnly != "" && !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: read-only site %s refused with %v", file, s.Container, err)
		}
		return err
	}
	if s.ReadOnly != "" {
		t.Errorf("%s: read-only site %s/%s was edited", file, s.Resource, s.Container)
	}
	if next.Tag != tag || next.Host != s.Ref.Host || next.Path != s.Ref.Path {
		t.Errorf("%s: %s: Retag returned %s for tag %s", file, s.Container, next, tag)
	}
	if s.Ref.Digest != "" && next.Digest != digest || s.Ref.Digest == "" && next.Digest != "" {
		t.Errorf("%s: %s: digest %q → %q (given %q)", file, s.Container, s.Ref.Digest, next.Digest, digest)
	}
	out, err := Apply(data, reps)
	if err != nil {
		t.Fatalf("%s: %s: Apply: %v", file, s.Container, err)
	}
	// Only this site's scalars are replaced, and nothing else changes.
	at, o := 0, 0
	for _, r := range reps {
		part := false
		for _, p := range s.Parts {
			part = part || p.Start == r.Start && p.End == r.End
		}
		if !part {
			t.Errorf("%s: %s: replacement [%d,%d) is not a scalar of the site", file, s.Container, r.Start, r.End)
		}
		n := r.Start - at
		if !bytes.Equal(out[o:o+n], data[at:r.Start]) {
			t.Errorf("%s: %s: bytes before offset %d changed", file, s.Container, r.Start)
		}
		o += n + len(r.Text)
		at = r.End
	}
	if !bytes.Equal(out[o:], data[at:]) {
		t.Errorf("%s: %s: bytes after offset %d changed", file, s.Container, at)
	}
	after, problems2 := Parse(file, out)
	if len(after) != len(sites) {
		t.Fatalf("%s: %s: %d sites after the edit, %d before\n%s", file, s.Container, len(after), len(sites), out)
	}
	if len(problems2) != len(problems) {
		t.Errorf("%s: %s: %d problems after the edit, %d before: %v", file, s.Container, len(problems2), len(problems), problems2)
	}
	for j := range sites {
		want := sites[j].Ref
		if j == i {
			want = next
		} else if overlaps(sites[j], reps) {
			continue // a marker site and a Flux v1 site reading the same scalar
		}
		if after[j].Container != sites[j].Container || after[j].Ref != want {
			t.Errorf("%s: edit of %s: site %d (%s) reads %s, want %s\n%s", file, s.Container, j, sites[j].Container, after[j].Ref, want, out)
		}
		for r, p := range after[j].Parts {
			old := sites[j].Parts[r]
			if p.Style != old.Style && !(old.Style == Plain && p.Style == DoubleQuoted) {
				t.Errorf("%s: edit of %s: %s of %s changed style %s → %s", file, s.Container, r, sites[j].Container, old.Style, p.Style)
			}
		}
	}
	checkSpans(t, file, out, after, problems2)
	return nil
}

// testdataFiles lists every YAML file under testdata.
func testdataFiles(t testing.TB) []string {
	var files []string
	for _, pat := range []string{"testdata/parse/*.yaml", "testdata/edit/*.yaml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	return files
}

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestEditPropertyAllTestdata checks the edit property for every site of
// every testdata file, with tags that stay plain, that must be quoted, and a
// same-tag digest re-push.
func TestEditPropertyAllTestdata(t *testing.T) {
	edited := 0
	for _, f := range testdataFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sites, _ := Parse(f, data)
		for i, s := range sites {
			for _, tag := range []string{"9.9.9", "v2.0.0-rc.1", "1.10", "true", "1e3", "2024-01-01", s.Ref.Tag} {
				if tag == "" {
					continue
				}
				err := checkEdit(t, f, data, i, tag, testDigest)
				switch {
				case err == nil:
					edited++
				case s.ReadOnly != "" && errors.Is(err, ErrReadOnly):
				case s.Shape == ShapeRepository && s.Ref.Tag == "" && errors.Is(err, ErrNoTagPlace):
				default:
					t.Errorf("%s: %s/%s → %s: %v", f, s.Resource, s.Container, tag, err)
				}
			}
		}
	}
	if edited < 50 {
		t.Errorf("only %d edits were checked", edited)
	}
}
