package manifest

import (
	"errors"
	"strings"
	"testing"
)

// A site whose image's rule pins digests gets the digest written where the
// tag is: after the tag of a whole reference, inside a split tag: value,
// and in the digest: key or the tag when the site pins one already.
func TestRetagPinnedAddsDigest(t *testing.T) {
	const edits = "testdata/edit/edits.yaml"
	tests := []struct {
		name, file, container, tag, digest string
		want                               []string
		err                                error
	}{
		{"whole image gains tag@digest", edits, "plain", "v2", digestA, []string{"repo/plain:v2@" + digestA}, nil},
		{"same tag: digest added alone", edits, "plain", "v1", digestA, []string{"repo/plain:v1@" + digestA}, nil},
		{"split tag gains @digest", edits, "split", "v2", digestA, []string{"v2@" + digestA}, nil},
		{"quoted split tag keeps its quotes", edits, "double", "v2", digestA, []string{`"v2@` + digestA + `"`}, nil},
		{"digest key already there", edits, "pinned", "v2", digestA, []string{"v2", "'" + digestA + "'"}, nil},
		{"inline digest moves with the tag", edits, "inline", "1.26", digestA, []string{"docker.io/library/nginx:1.26@" + digestA}, nil},
		{"workload", "testdata/parse/workloads.yaml", "fetch", "2024.02", digestA, []string{"'localhost:5000/tools/fetch:2024.02@" + digestA + "'"}, nil},
		{"no digest: refused", edits, "plain", "v2", "", nil, ErrDigestRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, i := findSite(t, tt.file, tt.container)
			sites, _ := Parse(tt.file, data)
			reps, next, err := RetagPinned(data, sites[i], tt.tag, tt.digest)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			var got []string
			for _, r := range reps {
				got = append(got, r.Text)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("replacements %q, want %q", got, tt.want)
			}
			if next.Tag != tt.tag || next.Digest != tt.digest {
				t.Errorf("the site reads %s afterwards", next)
			}
			out, err := Apply(data, reps)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := Parse(tt.file, out)
			if after[i].Ref != next {
				t.Errorf("the edited file reads %s, not %s", after[i].Ref, next)
			}
		})
	}
}
