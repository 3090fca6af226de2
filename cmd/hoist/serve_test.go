package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

var serveRelease = testenv.HelmRelease("app", "127.0.0.1:5000/team/app:1.2.3", "semver:~1.2")

// hoist serve in-process: a webhook becomes a commit, the end-to-end
// latency histogram sees it, and cancelling (what SIGTERM does) shuts
// every stage down cleanly.
func TestServeWebhookToCommit(t *testing.T) {
	h := startServe(t, serveOpts{files: map[string]string{"apps/app.yaml": serveRelease}})
	if code, body := h.get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	h.mustPush(t, "127.0.0.1:5000/team/app:1.2.4")
	h.waitCommit(t, h.seed)
	if got := h.repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.4\n") {
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
	testenv.Eventually(t, "the pipeline's metrics", func() bool {
		_, metrics := h.get("/metrics")
		for _, want := range wantSeries {
			if !strings.Contains(metrics, want) {
				return false
			}
		}
		return true
	})

	// Cancelling is what SIGTERM does.
	if err := h.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Error("still listening after shutdown")
	}
	if !strings.Contains(h.logs.String(), `"message":"hoist serve stopped"`) {
		t.Errorf("no shutdown line in the log:\n%s", h.logs.String())
	}
	if n := strings.Count(h.logs.String(), `"event_id"`); n < 3 {
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
