package manifest

import (
	"fmt"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// verify applies reps to a copy of data and parses the site's document
// again: site s must read next, and every other site of the document what
// it read before (the edit property: an edit changes its own site and
// nothing else a reader of the document sees; checked on every edit).
func verify(data []byte, reps []Replacement, s Site, next imageref.Reference) error {
	out, err := Apply(data, reps)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrVerify, err)
	}
	before := documentSites(s.File, data, s.Document)
	idx := -1
	for i, o := range before {
		if sameSite(o, s) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return fmt.Errorf("%w: the site is no longer in document %d", ErrStale, s.Document)
	}
	after := documentSites(s.File, out, s.Document)
	if len(after) != len(before) {
		return fmt.Errorf("%w: the document held %d sites and would hold %d", ErrVerify, len(before), len(after))
	}
	for i := range before {
		want := before[i].Ref
		if i == idx {
			want = next
		} else if overlaps(before[i], reps) {
			// Another site reading the edited scalar (a Flux v1 site of a
			// field a Flux v2 marker also names) changes with it.
			continue
		}
		if after[i].Container != before[i].Container || fileRef(after[i], after[i].Ref) != fileRef(before[i], want) {
			return fmt.Errorf("%w: container %s would read %s, want %s", ErrVerify,
				before[i].Container, after[i].Ref, want)
		}
	}
	return nil
}

// sameSite reports whether a and b are the same site: same resource,
// container and scalars.
func sameSite(a, b Site) bool {
	if a.Resource != b.Resource || a.Container != b.Container || a.Shape != b.Shape || len(a.Parts) != len(b.Parts) {
		return false
	}
	for r, sa := range a.Parts {
		sb, ok := b.Parts[r]
		if !ok || sa.Start != sb.Start || sa.End != sb.End || sa.Value != sb.Value {
			return false
		}
	}
	return true
}

// fileRef is what site s's scalars themselves say of ref: a marker site
// without a marked image or name takes its host and path from its
// ImageRepository, not from the file, so they are left out.
func fileRef(s Site, ref imageref.Reference) imageref.Reference {
	if s.Flux == nil {
		return ref
	}
	_, image := s.Parts[RoleImage]
	_, name := s.Parts[RoleRepository]
	if !image && !name {
		ref.Host, ref.Path = "", ""
	}
	return ref
}

// overlaps reports whether any replacement touches a scalar of site s.
func overlaps(s Site, reps []Replacement) bool {
	for _, sc := range s.Parts {
		for _, r := range reps {
			if r.Start < sc.End && sc.Start < r.End {
				return true
			}
		}
	}
	return false
}
