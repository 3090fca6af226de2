package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/config"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

const serveRelease = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
  namespace: apps
  annotations:
    fluxcd.io/automated: "true"
    filter.fluxcd.io/chart-image: semver:~1.2
spec:
  values:
    image:
      repository: 127.0.0.1:5000/team/app
      tag: 1.2.3
`

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// pollUntil re-checks cond until it holds; it fails the test at the deadline.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hoist serve in-process: a webhook becomes a commit, the end-to-end
// latency histogram sees it, and cancelling (what SIGTERM does) shuts
// every stage down cleanly.
func TestServeWebhookToCommit(t *testing.T) {
	srv := testgit.NewServer(t)
	repo := srv.NewRepo(t, "gitops")
	seed := repo.SeedFiles(t, "main", map[string]string{"apps/app.yaml": serveRelease})
	dir := t.TempDir()
	addr := freePort(t)
	cfg, problems := config.Parse("hoist.yaml", []byte(fmt.Sprintf(`
nats: {dataDir: %[1]s/nats}
dataDir: %[1]s/data
listen: %[2]s
receivers:
  - {name: ci, kind: generic, secret: s3cret}
# The webhook announces a tag that exists in no registry: trust it.
images: [{match: "**", verify: none}]
repositories:
  - name: gitops
    url: %[3]s
    commit: {window: 0s}
`, dir, addr, repo.URL)), config.AllStages)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	logs := &lockedBuffer{b: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveStages(ctx, "serve", stages{ingest: true, match: true, commit: true, embedded: true}, cfg,
			zerolog.New(logs))
	}()
	base := "http://" + addr
	pollUntil(t, "/readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	if code, body := httpGet(base + "/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/ci", strings.NewReader(`{"image":"127.0.0.1:5000/team/app:1.2.4"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	pollUntil(t, "the commit", func() bool { return repo.Head(t, "main") != seed })
	if got := repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.4\n") {
		t.Fatalf("apps/app.yaml after the commit:\n%s", got)
	}
	// The committer counts a commit once the push is accepted, just after
	// the branch moved: wait for the series rather than read them once.
	wantSeries := []string{
		`hoist_end_to_end_latency_seconds_count{repo="gitops"} 1`,
		`hoist_matcher_rewrites_total{repo="gitops"} 1`,
		`hoist_committer_commits_total{repo="gitops"} 1`,
		`hoist_ingest_deliveries_total{outcome="stored",receiver="ci"} 1`,
		// What people alert on: build, readiness, NATS and the backlog.
		`hoist_build_info{commit=`,
		`hoist_ready 1`,
		`hoist_nats_connected 1`,
		`hoist_consumer_pending_messages{consumer="hoist-matcher",stream="HOIST_PUSHES"} 0`,
		`hoist_consumer_ack_pending_messages{consumer="hoist-committer-gitops_main",stream="HOIST_REWRITES"} 0`,
		`hoist_stream_oldest_message_age_seconds{stream="HOIST_REWRITES"} 0`,
		`hoist_committer_last_commit_timestamp_seconds{branch="main",repo="gitops"} 1`,
	}
	pollUntil(t, "the pipeline's metrics", func() bool {
		_, metrics := httpGet(base + "/metrics")
		for _, want := range wantSeries {
			if !strings.Contains(metrics, want) {
				return false
			}
		}
		return true
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
	if !strings.Contains(logs.String(), `"message":"hoist serve stopped"`) {
		t.Errorf("no shutdown line in the log:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), `"event_id"`); n < 3 {
		t.Errorf("the push's event_id appears in %d log lines, want ingest, matcher and committer", n)
	}
}

func TestStageCommandsNeedExternalNATS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hoist.yaml")
	writeFile(t, p, "receivers:\n  - {name: ci, kind: generic, secret: s}\n")
	for _, stage := range []string{"ingest", "match", "commit"} {
		code, _, errOut := runHoist(t, stage, "--config", p, "--listen", "127.0.0.1:0")
		if code != 1 || !strings.Contains(errOut, "nats.url is empty") {
			t.Errorf("hoist %s: exit %d, stderr %q", stage, code, errOut)
		}
	}
	code, _, errOut := runHoist(t, "serve", "--config", filepath.Join(t.TempDir(), "none.yaml"))
	if code != 1 || !strings.Contains(errOut, "cannot read") {
		t.Errorf("serve with a missing config: exit %d, %q", code, errOut)
	}
	if code, _, _ := runHoist(t, "serve", "--config", p, "extra"); code != 2 {
		t.Errorf("serve with an extra argument: exit %d, want 2", code)
	}
}
