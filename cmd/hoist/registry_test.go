package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// hoist serve verifies pushed tags by default, in a registry that asks for
// credentials, logged in as registries: says: a tag the registry does not
// have is not written, one it has is, and the password is in no log line.
func TestServeVerifiesTagsInItsRegistry(t *testing.T) {
	const password = "registry-password-never-logged"
	reg := testregistry.Start(t, testregistry.Options{Users: map[string]string{"hoist": password}})
	digest := reg.PushImage(t, "team/app", "1.2.4")
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	seed := repo.SeedFiles(t, "main", map[string]string{
		"apps/app.yaml": strings.Replace(serveRelease, "127.0.0.1:5000/team/app", reg.Host+"/team/app", 1),
	})
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "registry-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	cfg, problems := config.Parse("hoist.yaml", []byte(fmt.Sprintf(`
nats: {dataDir: %[1]s/nats}
dataDir: %[1]s/data
listen: %[2]s
receivers:
  - {name: ci, kind: generic, secret: s3cret}
# Webhooks only: a scan would find 1.2.4 before the test announces it.
scan: {interval: 0}
registries:
  - host: %[4]s
    auth: {username: hoist, passwordFile: %[5]s}
repositories:
  - name: gitops
    url: %[3]s
    commit: {window: 0s}
`, dir, addr, repo.URL, reg.Host, pwFile)), config.AllStages)
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
	})
	base := "http://" + addr
	testenv.Eventually(t, "/readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	push := func(tag string) {
		t.Helper()
		body := fmt.Sprintf(`{"image":"%s/team/app:%s"}`, reg.Host, tag)
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/ci", strings.NewReader(body))
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

	push("1.2.5") // announced, never pushed to the registry
	testenv.Eventually(t, "the missing tag reported", func() bool {
		_, metrics := httpGet(base + "/metrics")
		return strings.Contains(metrics, `hoist_matcher_registry_checks_total{result="not_in_registry"} 1`)
	})
	if head := repo.Head(t, "main"); head != seed {
		t.Fatalf("a tag that is not in the registry was committed")
	}
	push("1.2.4")
	testenv.Eventually(t, "the commit", func() bool { return repo.Head(t, "main") != seed })
	if got := repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.4\n") {
		t.Fatalf("apps/app.yaml after the commit:\n%s", got)
	}
	if !strings.Contains(logs.String(), digest) {
		t.Errorf("the registry's digest %s of the pushed tag is not logged", digest)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the registry password is in the log")
	}
}
