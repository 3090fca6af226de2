package imageref

import (
	"strings"
	"testing"
)

func TestCosignTag(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, c := range []struct{ tag, digest, kind string }{
		{"sha256-" + hex + ".sig", "sha256:" + hex, "sig"},
		{"sha256-" + hex + ".att", "sha256:" + hex, "att"},
		{"sha256-" + hex + ".sbom", "sha256:" + hex, "sbom"},
		{"sha256-" + hex, "sha256:" + hex, ""},
	} {
		d, k, ok := CosignTag(c.tag)
		if !ok || d != c.digest || k != c.kind {
			t.Errorf("CosignTag(%q) = %q, %q, %v; want %q, %q", c.tag, d, k, ok, c.digest, c.kind)
		}
	}
	for _, tag := range []string{"sha256-build", "sha256-" + hex[:63] + ".sig", "sha256-" + strings.ToUpper(hex) + ".sig",
		"sha256-" + hex + ".txt", "sha256-" + hex + "x", "1.2.3", "sha512-" + hex + ".sig"} {
		if _, _, ok := CosignTag(tag); ok {
			t.Errorf("CosignTag(%q) accepted", tag)
		}
	}
}
