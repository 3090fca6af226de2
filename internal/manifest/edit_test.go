package manifest

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

// findSite returns the site of container c in file f.
func findSite(t *testing.T, f, c string) ([]byte, int) {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	sites, _ := Parse(f, data)
	for i, s := range sites {
		if s.Container == c {
			return data, i
		}
	}
	t.Fatalf("%s: no container %s", f, c)
	return nil, 0
}

func TestRetag(t *testing.T) {
	const edits = "testdata/edit/edits.yaml"
	tests := []struct {
		name      string
		file      string
		container string
		tag       string
		digest    string
		want      []string // replacement texts, in file order
		err       error
	}{
		{"whole image, plain", edits, "plain", "v2", "", []string{"repo/plain:v2"}, nil},
		{"whole image, number-like tag stays plain in a reference", edits, "plain", "1.10", "", []string{"repo/plain:1.10"}, nil},
		{"split tag", edits, "split", "v2", "", []string{"v2"}, nil},
		{"split tag that would read as a float is quoted", edits, "split", "1.10", "", []string{`"1.10"`}, nil},
		{"split tag that would read as a bool is quoted", edits, "split", "true", "", []string{`"true"`}, nil},
		{"split tag that would read as a YAML 1.1 bool is quoted", edits, "split", "on", "", []string{`"on"`}, nil},
		{"split tag that would read as exponent is quoted", edits, "split", "1e3", "", []string{`"1e3"`}, nil},
		{"split tag that would read as a timestamp is quoted", edits, "split", "2024-01-01", "", []string{`"2024-01-01"`}, nil},
		{"split tag that would read as an int is quoted", edits, "split", "10", "", []string{`"10"`}, nil},
		{"semver tag stays plain", edits, "split", "1.2.3", "", []string{"1.2.3"}, nil},
		{"single-quoted tag keeps its quotes", edits, "single", "1.10", "", []string{"'1.10'"}, nil},
		{"double-quoted tag keeps its quotes", edits, "double", "v2", "", []string{`"v2"`}, nil},
		{"untagged image gets a tag appended", edits, "untagged", "1.36", "", []string{"busybox:1.36"}, nil},
		{"registry beside untagged image: tag appended to image, registry untouched", edits, "registry", "v3", "", []string{"team/app:v3"}, nil},
		{"repository without tag key cannot take a tag", edits, "maponly", "v1", "", nil, ErrNoTagPlace},
		{"repository carrying its tag is edited in place", edits, "maptagged", "v2", "", []string{"repo/maptagged:v2"}, nil},
		{"numeric tag is written quoted", edits, "float", "1.3", "", []string{`"1.3"`}, nil},
		{"boolean tag is read-only", "testdata/parse/string-only.yaml", "bool", "1.3", "", nil, ErrReadOnly},
		{"inline digest moves with the tag", edits, "inline", "1.26", digestA, []string{"docker.io/library/nginx:1.26@" + digestA}, nil},
		{"inline digest needs a digest", edits, "inline", "1.26", "", nil, ErrDigestRequired},
		{"same tag, new digest: digest alone", edits, "inline", "1.25", digestA, []string{"docker.io/library/nginx:1.25@" + digestA}, nil},
		{"digest key set with the tag", edits, "pinned", "v2", digestA, []string{"v2", "'" + digestA + "'"}, nil},
		{"digest key alone for a re-push", edits, "pinned", "v1", digestA, []string{"'" + digestA + "'"}, nil},
		{"digest inside the tag value", edits, "intag", "v2", digestA, []string{"v2@" + digestA}, nil},
		{"unpinned site ignores the event digest", edits, "split", "v2", digestA, []string{"v2"}, nil},
		{"same value: nothing to do", edits, "split", "v1", "", nil, nil},
		{"flow plain reference keeps plain", edits, "flowplain", "v2", "", []string{"repo/flowplain:v2"}, nil},
		{"flow plain gaining a colon is quoted", edits, "flowuntagged", "v2", "", []string{`"repo/flowuntagged:v2"`}, nil},
		{"flow tag", edits, "flowtag", "v2", "", []string{"v2"}, nil},
		{"anchored scalar after properties and a line break", edits, "anchored", "v2", "", []string{"repo/anchored:v2"}, nil},
		{"escaped double-quoted scalar", edits, "escaped", "v2", "", []string{`"repo/escaped:v2"`}, nil},
		{"host spelling kept", edits, "index", "2", "", []string{"index.docker.io/library/nginx:2"}, nil},
		{"alias repository-only: tag appended", edits, "whole", "v9", "", []string{"repo/whole:v9"}, nil},
		{"alias registry+repository: tag appended to repository", edits, "regonly", "v9", "", []string{"org/regonly:v9"}, nil},
		{"invalid tag", edits, "split", "v 2", "", nil, ErrInvalid},
		{"tag with a newline", edits, "split", "v2\nx: y", "", nil, ErrInvalid},
		{"invalid digest", edits, "inline", "v2", "sha256:xyz", nil, ErrInvalid},
		{"block scalar is read-only", "testdata/parse/styles.yaml", "folded", "v2", "", nil, ErrReadOnly},
		{"shared anchor is read-only", "testdata/parse/anchors.yaml", "shared-a", "v2", "", nil, ErrReadOnly},
		{"merged site with its own tag", "testdata/parse/anchors.yaml", "merged", "v3.0.0", "", []string{"v3.0.0"}, nil},
		{"CRLF file", "testdata/parse/crlf.yaml", "web", "1.1.0", "", []string{`"1.1.0"`}, nil},
		{"non-ASCII file", "testdata/parse/unicode.yaml", "日本", "v2", "", []string{"repo/nihon:v2"}, nil},
		{"workload", "testdata/parse/workloads.yaml", "fetch", "2024.02", "", []string{"'localhost:5000/tools/fetch:2024.02'"}, nil},
		{"workload digest", "testdata/parse/workloads.yaml", "postgres", "17", digestA, []string{"postgres:17@" + digestA}, nil},
		{"seed alias", "testdata/parse/seed-annotations.yaml", "submarine", "v2", "", []string{"v2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, i := findSite(t, tt.file, tt.container)
			err := checkEdit(t, tt.file, data, i, tt.tag, tt.digest)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			sites, _ := Parse(tt.file, data)
			reps, _, err := Retag(data, sites[i], tt.tag, tt.digest)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range reps {
				got = append(got, r.Text)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("replacements %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRetagStale(t *testing.T) {
	data, i := findSite(t, "testdata/edit/edits.yaml", "split")
	sites, _ := Parse("testdata/edit/edits.yaml", data)
	s := sites[i]
	changed := strings.Replace(string(data), "tag: v1\n", "tag: v7\n", 1)
	if _, _, err := Retag([]byte(changed), s, "v2", ""); !errors.Is(err, ErrStale) {
		t.Errorf("edit of a changed file: %v, want ErrStale", err)
	}
	if _, _, err := Retag(data[:s.Parts[RoleTag].Start], s, "v2", ""); !errors.Is(err, ErrStale) {
		t.Errorf("edit of a truncated file: %v, want ErrStale", err)
	}
}

func TestApply(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		name string
		reps []Replacement
		want string
		ok   bool
	}{
		{"none", nil, "0123456789", true},
		{"one", []Replacement{{2, 4, "ab"}}, "01ab456789", true},
		{"unsorted", []Replacement{{8, 9, "X"}, {0, 1, "YY"}}, "YY1234567X9", true},
		{"grow and shrink", []Replacement{{0, 5, ""}, {5, 5, "--"}}, "--56789", true},
		{"adjacent", []Replacement{{1, 2, "a"}, {2, 3, "b"}}, "0ab3456789", true},
		{"overlap", []Replacement{{1, 3, "a"}, {2, 4, "b"}}, "", false},
		{"out of range", []Replacement{{8, 11, "a"}}, "", false},
		{"negative", []Replacement{{-1, 2, "a"}}, "", false},
		{"reversed", []Replacement{{4, 2, "a"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(data, tt.reps)
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if string(data) != "0123456789" {
				t.Fatal("Apply modified its input")
			}
		})
	}
}
