package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// registryServe is hoist serve against a real registry and a real git
// server, with the images: rules a test gives.
type registryServe struct {
	*served
	reg *testregistry.Registry
}

// startRegistryServe seeds files (with 127.0.0.1:5000 replaced by the
// registry's host) and runs every stage of hoist serve, with images (YAML
// lines under images:, already indented) as its rules.
func startRegistryServe(t *testing.T, reg *testregistry.Registry, files map[string]string, images string) *registryServe {
	t.Helper()
	for k, v := range files {
		files[k] = strings.ReplaceAll(v, "127.0.0.1:5000", reg.Host)
	}
	return &registryServe{served: startServe(t, serveOpts{files: files, images: "\n" + images}), reg: reg}
}

// hook posts a generic webhook announcing repo:tag of the registry, with
// its digest as registries send it (a re-push of a tag is then a new event).
func (s *registryServe) hook(t *testing.T, repo, tag, digest string) {
	t.Helper()
	s.mustPost(t, tag, fmt.Sprintf(`{"image":"%s/%s:%s","digest":"%s"}`, s.reg.Host, repo, tag, digest))
}
