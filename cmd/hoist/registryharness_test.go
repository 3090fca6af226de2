package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// registryServe is hoist serve against a real registry and a real git
// server, with the images: rules a test gives.
type registryServe struct {
	base string
	repo *testgit.Repo
	seed string
	logs *testenv.LogBuffer
	reg  *testregistry.Registry
}

// startRegistryServe seeds files (with 127.0.0.1:5000 replaced by the
// registry's host) and runs every stage of hoist serve, with images (YAML
// lines under images:, already indented) as its rules.
func startRegistryServe(t *testing.T, reg *testregistry.Registry, files map[string]string, images string) *registryServe {
	t.Helper()
	for k, v := range files {
		files[k] = strings.ReplaceAll(v, "127.0.0.1:5000", reg.Host)
	}
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	seed := repo.SeedFiles(t, "main", files)
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	cfg, problems := config.Parse("hoist.yaml", []byte(fmt.Sprintf(`
nats: {dataDir: %[1]s/nats}
dataDir: %[1]s/data
listen: %[2]s
receivers:
  - {name: ci, kind: generic, secret: s3cret}
images:
%[4]s
repositories:
  - name: gitops
    url: %[3]s
    commit: {window: 0s}
`, dir, addr, repo.URL, images)), config.AllStages)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	logs := &testenv.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveStages(ctx, "serve", stages{ingest: true, match: true, commit: true, embedded: true}, cfg, zerolog.New(logs))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop after cancel")
		}
		if t.Failed() {
			t.Logf("hoist log:\n%s", logs.String())
		}
	})
	s := &registryServe{base: "http://" + addr, repo: repo, seed: seed, logs: logs, reg: reg}
	testenv.Eventually(t, "/readyz", func() bool { code, _ := httpGet(s.base + "/readyz"); return code == 200 })
	return s
}

// hook posts a generic webhook announcing repo:tag of the registry, with
// its digest as registries send it (a re-push of a tag is then a new event).
func (s *registryServe) hook(t *testing.T, repo, tag, digest string) {
	t.Helper()
	body := fmt.Sprintf(`{"image":"%s/%s:%s","digest":"%s"}`, s.reg.Host, repo, tag, digest)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/hooks/ci", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook for %s answered %d", tag, resp.StatusCode)
	}
}

// metric reports whether /metrics has the line.
func (s *registryServe) metric(line string) bool {
	_, m := httpGet(s.base + "/metrics")
	return strings.Contains(m, line)
}
