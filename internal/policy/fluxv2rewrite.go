package policy

import (
	"encoding/json"
	"fmt"

	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/wire"
)

// MarkerPolicyJSON is the ImagePolicy a marker site was resolved with, as
// a rewrite carries it (wire.Rewrite.Policy); empty for Flux v1 sites.
func MarkerPolicyJSON(site *manifest.Site) string {
	if site == nil || site.Flux == nil || !site.Flux.Resolved {
		return ""
	}
	b, err := json.Marshal(site.Flux.Policy)
	if err != nil {
		return "" // a struct of strings and bools always marshals
	}
	return string(b)
}

// bindMarker resolves marker site s, re-read from the file at the branch
// head, with the ImagePolicy its rewrite carries: the committer does not
// read the repository's ImagePolicy objects, and re-checks with the policy
// the matcher decided with. A rewrite without one is refused.
func bindMarker(s manifest.Site, rw wire.Rewrite) (manifest.Site, string) {
	if rw.Policy == "" {
		return s, fmt.Sprintf("%s %s is a Flux v2 marker site and the rewrite carries no ImagePolicy", rw.Resource, rw.Container)
	}
	var p manifest.ImagePolicy
	if err := json.Unmarshal([]byte(rw.Policy), &p); err != nil {
		return s, fmt.Sprintf("%s %s: the rewrite's ImagePolicy does not decode: %v", rw.Resource, rw.Container, err)
	}
	if p.Namespace != s.Flux.Namespace || p.Name != s.Flux.Name {
		return s, fmt.Sprintf("%s %s: the rewrite's ImagePolicy is %s, not %s/%s", rw.Resource, rw.Container, p.Key(), s.Flux.Namespace, s.Flux.Name)
	}
	return manifest.Bind(s, p, p.Image), ""
}
