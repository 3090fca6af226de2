package imageref

import "strings"

// CosignTag parses a tag Sigstore derives from an image digest rather than
// one a person pushes: sha256-<hex of the digest> followed by .sig (a
// cosign signature), .att (an attestation) or .sbom, or by nothing (the OCI
// referrers tag, under which registries without the referrers API list
// Sigstore bundles). digest is "sha256:<hex>" and kind the suffix without
// its dot ("" for the referrers tag). Such a tag is never an image to run.
func CosignTag(tag string) (digest, kind string, ok bool) {
	rest, found := strings.CutPrefix(tag, "sha256-")
	if !found || len(rest) < 64 {
		return "", "", false
	}
	hex, suffix := rest[:64], rest[64:]
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	switch suffix {
	case "", ".sig", ".att", ".sbom":
		return "sha256:" + hex, strings.TrimPrefix(suffix, "."), true
	}
	return "", "", false
}
