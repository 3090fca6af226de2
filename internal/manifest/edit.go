package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/hoist-gitops/hoist/internal/imageref"
)

// Replacement replaces data[Start:End] with Text.
type Replacement struct {
	Start, End int
	Text       string
}

// Errors Retag wraps, so callers can tell why a site was not edited.
var (
	// ErrReadOnly: the site is read-only (Site.ReadOnly says why).
	ErrReadOnly = errors.New("site cannot be edited")
	// ErrNoTagPlace: the site has no tag scalar and no whole-image string
	// a tag could be appended to.
	ErrNoTagPlace = errors.New("site has no place to write a tag")
	// ErrDigestRequired: the site pins a digest and no new digest was given.
	ErrDigestRequired = errors.New("site pins a digest and the update carries none")
	// ErrStale: the file no longer holds the site's scalars where Parse saw them.
	ErrStale = errors.New("file does not match the site")
	// ErrInvalid: the new tag, digest or reference is not valid.
	ErrInvalid = errors.New("invalid update")
	// ErrVerify: the edited file does not read back as intended.
	ErrVerify = errors.New("edit does not read back")
)

// Retag computes the replacements that make site s of data read tag (and
// digest, when the site pins one; a same-tag call with a new digest updates
// the digest alone). Only the scalars that change are rewritten, in their
// own quoting style (a plain scalar is quoted when its new text would read
// as anything but a string); the host and path are kept exactly as
// written, never canonicalised. It returns the reference the site reads afterwards. No replacements
// and a nil error mean the site already reads that value. The result is
// checked by parsing the edited document again: the site must read the new
// reference and every other site of the document what it read before.
func Retag(data []byte, s Site, tag, digest string) ([]Replacement, imageref.Reference, error) {
	return retag(data, s, tag, digest, false)
}

// retag is Retag; pin writes digest also where the site does not pin one yet
// (see RetagPinned).
func retag(data []byte, s Site, tag, digest string, pin bool) ([]Replacement, imageref.Reference, error) {
	fail := func(err error) ([]Replacement, imageref.Reference, error) {
		return nil, s.Ref, fmt.Errorf("retag %s %s %s: %w", s.File, s.Resource, s.Container, err)
	}
	if s.ReadOnly != "" {
		return fail(fmt.Errorf("%w: %s", ErrReadOnly, s.ReadOnly))
	}
	if err := markerEditable(s); err != nil {
		return fail(err)
	}
	if err := imageref.ValidateTag(tag); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrInvalid, err))
	}
	if digest != "" {
		if err := imageref.ValidateDigest(digest); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrInvalid, err))
		}
	}
	next := s.Ref
	next.Tag = tag
	if s.Ref.Digest != "" || markerDigest(s) || pin {
		if digest == "" {
			return fail(fmt.Errorf("%w (%s)", ErrDigestRequired, s.Ref.Digest))
		}
		next.Digest = digest
	}
	if next == s.Ref {
		return nil, s.Ref, nil
	}
	if _, err := imageref.Parse(next.String()); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrInvalid, err))
	}
	edits, err := plan(s, next, pin)
	if err != nil {
		return fail(err)
	}
	var reps []Replacement
	for _, e := range edits {
		sc := s.Parts[e.role]
		if sc.Value == e.value {
			continue
		}
		if sc.Frozen {
			return fail(fmt.Errorf("%w: the %s at line %d is not a single-line scalar", ErrReadOnly, e.role, sc.Line))
		}
		if err := checkScalar(data, sc); err != nil {
			return fail(err)
		}
		reps = append(reps, Replacement{Start: sc.Start, End: sc.End, Text: encode(e.value, sc)})
	}
	sort.Slice(reps, func(i, j int) bool { return reps[i].Start < reps[j].Start })
	if err := verify(data, reps, s, next); err != nil {
		return fail(err)
	}
	return reps, next, nil
}

// edit is a new value for one part of a site.
type edit struct {
	role  Role
	value string
}

// plan decides which scalars take the new tag and digest: the tag scalar
// when there is one, else the name scalar carrying the whole reference; the
// digest key when there is one, else wherever the digest is written now
// (in the tag value, or in the name beside a tag key).
func plan(s Site, next imageref.Reference, pin bool) ([]edit, error) {
	var edits []edit
	// adding is a digest written where none is yet (RetagPinned).
	adding := pin && s.Ref.Digest == "" && next.Digest != ""
	if t, ok := s.Parts[RoleTag]; ok {
		v := next.Tag
		if strings.Contains(t.Value, "@") || adding {
			v += "@" + next.Digest
		}
		edits = append(edits, edit{RoleTag, v})
		// image: repo@sha256:… beside the tag key: the digest is written
		// in the name scalar.
		role := RoleImage
		if _, ok := s.Parts[RoleRepository]; ok {
			role = RoleRepository
		}
		if n, ok := s.Parts[role]; ok {
			if i := strings.IndexByte(n.Value, '@'); i >= 0 {
				edits = append(edits, edit{role, n.Value[:i] + "@" + next.Digest})
			}
		}
	} else {
		role := RoleImage
		if _, ok := s.Parts[RoleRepository]; ok {
			role = RoleRepository
		}
		n, ok := s.Parts[role]
		if !ok {
			return nil, fmt.Errorf("%w: no image or repository scalar", ErrNoTagPlace)
		}
		base, oldTag, oldDigest := splitRef(n.Value)
		if oldTag == "" && s.Shape == ShapeRepository {
			return nil, fmt.Errorf("%w: image.repository at line %d has no tag key beside it, and charts add their own tag "+
				"to a repository value; add a tag: key to let hoist manage the tag", ErrNoTagPlace, n.Line)
		}
		v := base + ":" + next.Tag
		if oldDigest != "" || adding || markerDigest(s) && next.Digest != "" {
			v += "@" + next.Digest
		}
		edits = append(edits, edit{role, v})
	}
	if _, ok := s.Parts[RoleDigest]; ok {
		edits = append(edits, edit{RoleDigest, next.Digest})
	}
	return edits, nil
}

// splitRef splits a written reference into the name as written, the tag and
// the digest, the way imageref.Parse reads them.
func splitRef(v string) (name, tag, digest string) {
	name = v
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

// checkScalar confirms that data still holds scalar sc where Parse saw it.
func checkScalar(data []byte, sc Scalar) error {
	if sc.Start < 0 || sc.End > len(data) || sc.Start >= sc.End {
		return fmt.Errorf("%w: the scalar at line %d is out of range", ErrStale, sc.Line)
	}
	var end int
	var ok bool
	switch sc.Style {
	case SingleQuoted:
		end, ok = scanSingle(data, sc.Start, sc.Value)
	case DoubleQuoted:
		end, ok = scanDouble(data, sc.Start, sc.Value)
	case Plain:
		end, ok = scanPlain(data, sc.Start, sc.Value)
	}
	if !ok || end != sc.End {
		return fmt.Errorf("%w: line %d no longer reads %q", ErrStale, sc.Line, sc.Value)
	}
	return nil
}

// encode writes value in the style of the scalar it replaces. A plain
// scalar whose new text would read as another type (1.10, true, 1e3) or
// would need quoting is written double-quoted.
func encode(value string, sc Scalar) string {
	switch sc.Style {
	case SingleQuoted:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case DoubleQuoted:
		return strconv.Quote(value)
	}
	// In a flow collection older YAML parsers (yaml.v2, used by Helm) reject
	// a ':' inside a plain scalar; keep plain only if the old text had one.
	if plainSafe(value, sc.Flow && !strings.Contains(sc.Value, ":")) {
		return value
	}
	return strconv.Quote(value)
}

// nonStringRE matches plain scalars that YAML 1.1 or 1.2 resolvers (yaml.v2
// in Helm, yaml.v3 here) read as numbers, infinities or timestamps.
var nonStringRE = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?` +
	`|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+` +
	`|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\.(?:inf|Inf|INF))` +
	`|\.(?:nan|NaN|NAN)|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?)$`)

// plainSafe reports whether value can be written as a plain scalar and read
// back as the same string by any YAML 1.1 or 1.2 parser.
func plainSafe(value string, flow bool) bool {
	if value == "" || value[len(value)-1] == ':' {
		return false
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case i > 0 && (c == '.' || c == '-' || c == '/' || c == '@' || c == '+' || c == '='):
		case i > 0 && c == ':' && !flow:
		default:
			return false
		}
	}
	switch strings.ToLower(value) {
	case "true", "false", "yes", "no", "on", "off", "y", "n", "null":
		return false
	}
	return !nonStringRE.MatchString(value)
}

// Apply returns data with the replacements made. They may come in any
// order; overlapping or out-of-range replacements are an error.
func Apply(data []byte, reps []Replacement) ([]byte, error) {
	sorted := append([]Replacement(nil), reps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	size := len(data)
	prev := 0
	for i, r := range sorted {
		if r.Start < 0 || r.End < r.Start || r.End > len(data) {
			return nil, fmt.Errorf("apply: replacement [%d,%d) outside the file (%d bytes)", r.Start, r.End, len(data))
		}
		if i > 0 && r.Start < prev {
			return nil, fmt.Errorf("apply: replacements [%d,%d) and [%d,%d) overlap",
				sorted[i-1].Start, sorted[i-1].End, r.Start, r.End)
		}
		prev = r.End
		size += len(r.Text) - (r.End - r.Start)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, r := range sorted {
		out = append(out, data[at:r.Start]...)
		out = append(out, r.Text...)
		at = r.End
	}
	return append(out, data[at:]...), nil
}
