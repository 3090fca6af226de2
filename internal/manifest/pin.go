package manifest

import "github.com/hoist-gitops/hoist/internal/imageref"

// RetagPinned is Retag for an image whose rule pins digests: the site reads
// tag@digest afterwards even when it does not pin a digest yet. Where the
// digest goes when it is added: after the tag in the scalar that holds the
// tag — `image: repo:1.2` becomes `image: repo:1.3@sha256:…`, and a split
// `tag: "1.2"` becomes `tag: "1.3@sha256:…"` (charts join repository and tag
// with a colon, which renders repo:1.3@sha256:…, a reference every
// container runtime reads). A site that pins already keeps its digest
// where it is written (a digest: key, the tag, or the name).
func RetagPinned(data []byte, s Site, tag, digest string) ([]Replacement, imageref.Reference, error) {
	return retag(data, s, tag, digest, true)
}
