package policy

import (
	"context"
	"strings"
	"testing"
)

// TestReferrersTagNeverChosen: the OCI referrers tag sha256-<hex> (what
// cosign's newer bundle format is listed under on registries without the
// referrers API) is a Sigstore tag like sha256-<hex>.sig and is never
// chosen, whatever the filter: one definition of the tag shapes
// (imageref.CosignTag) serves the decision and the matcher's signature wait.
func TestReferrersTagNeverChosen(t *testing.T) {
	tag := "sha256-" + strings.Repeat("c", 64)
	for _, filter := range []string{"", "glob:*", "regexp:.*"} {
		d := Decide(context.Background(), site(t, "registry.example.com/team/app:1.0.0", filter), Candidate{Tag: tag}, nil)
		if d.Code != CodeExcludedTag {
			t.Errorf("filter %q: %s (%s), want %s", filter, d.Code, d.Reason, CodeExcludedTag)
		}
	}
}
