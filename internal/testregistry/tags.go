package testregistry

import (
	"os"
	"path/filepath"
	"testing"
)

// LinkTags gives repo the tags, each pointing to the manifest
// fromRepo:fromTag points to, by writing the registry's storage directly
// (its filesystem layout: repositories/<repo>/_manifests/tags/<tag>/current/link
// holds the digest): thousands of tags in milliseconds, where crane would
// push one at a time. The registry lists them like pushed tags; only in
// fromRepo can their manifests be read.
func (r *Registry) LinkTags(t testing.TB, fromRepo, fromTag, repo string, tags []string) {
	t.Helper()
	tagsDir := func(repo string) string {
		return filepath.Join(r.dir, "data", "docker", "registry", "v2", "repositories", filepath.FromSlash(repo), "_manifests", "tags")
	}
	link, err := os.ReadFile(filepath.Join(tagsDir(fromRepo), fromTag, "current", "link"))
	if err != nil {
		t.Fatalf("tag %s:%s in the registry's storage: %v", fromRepo, fromTag, err)
	}
	base := tagsDir(repo)
	for _, tag := range tags {
		dir := filepath.Join(base, tag, "current")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "link"), link, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
