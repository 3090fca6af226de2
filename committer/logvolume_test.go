package committer

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// A batch touching many sites writes one info line for its commit, with
// the counts and the event ids; each change is logged at debug only.
func TestLogsAtTheRightVolumeCommitter(t *testing.T) {
	const sites = 30
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, sites)
	b := startBus(t)
	heads := b.heads(t)
	var rws []bus.Rewrite
	for i := range sites {
		rws = append(rws, appRewrite("gitops", i, "1.0.0", "1.1.0", fmt.Sprintf("ev-%d", i%2)))
	}
	rws = append(rws, appRewrite("gitops", 0, "1.0.0", "0.9.0", "ev-old")) // not newer: dropped
	b.publish(t, rws...)

	var logs testenv.LogBuffer
	reg := prometheus.NewRegistry()
	commit := DefaultCommit()
	commit.Window, commit.MaxWait = 2*time.Second, 30*time.Second
	c, err := New(Config{
		Repos:   []Repo{{Name: "gitops", URL: r.URL, Branch: "main", Commit: commit}},
		DataDir: t.TempDir(),
		Editor:  testEditor(),
	}, b.js, reg, zerolog.New(&logs).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, reg, "hoist_committer_last_commit_timestamp_seconds", "gitops", "main"); got != 0 {
		t.Fatalf("last commit timestamp before any commit = %v, want 0", got)
	}
	started := time.Now()
	runCommitter(t, c)
	waitHead(t, heads)
	b.waitSettled(t, "gitops", "main", time.Minute)

	var info, debug []map[string]any
	for _, l := range logs.Lines(t, "") {
		switch l["level"] {
		case "info":
			info = append(info, l)
		case "debug":
			debug = append(debug, l)
		}
	}
	var commits []map[string]any
	for _, l := range info {
		if l["message"] == "rewrite committed" || l["message"] == "rewrite dropped at the head" {
			t.Errorf("per-change line at info: %v", l)
		}
		if l["message"] == "commit pushed" {
			commits = append(commits, l)
		}
	}
	if len(commits) != 1 {
		t.Fatalf("%d info lines \"commit pushed\", want 1 (info lines: %v)", len(commits), info)
	}
	cl := commits[0]
	for field, want := range map[string]float64{"applied": sites, "dropped": 1, "files": sites, "events": 2} {
		if got, _ := cl[field].(float64); got != want {
			t.Errorf("commit line %s = %v, want %v", field, cl[field], want)
		}
	}
	if ids, _ := cl["event_ids"].([]any); len(ids) != 2 {
		t.Errorf("commit line event_ids = %v, want the 2 events applied", cl["event_ids"])
	}
	if len(info) > 5 {
		t.Errorf("%d info lines for one batch of %d sites, want a handful", len(info), sites)
	}
	perChange := 0
	for _, l := range debug {
		if l["message"] == "rewrite committed" || l["message"] == "rewrite dropped at the head" {
			perChange++
			if l["event_id"] == nil || l["event_id"] == "" {
				t.Errorf("debug line without event_id: %v", l)
			}
		}
	}
	if perChange != sites+1 {
		t.Errorf("%d per-change debug lines, want %d", perChange, sites+1)
	}
	if got := gaugeValue(t, reg, "hoist_committer_last_commit_timestamp_seconds", "gitops", "main"); got < float64(started.Unix()) {
		t.Errorf("last commit timestamp = %v, want at least %d", got, started.Unix())
	}
}

// gaugeValue is the value of the gauge name{branch, repo} gathered from reg,
// failing the test when it is not there.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, repo, branch string) float64 {
	t.Helper()
	v, ok := testenv.MetricValue(t, reg, name, map[string]string{"repo": repo, "branch": branch})
	if !ok {
		t.Fatalf("no series %s{repo=%q,branch=%q}", name, repo, branch)
	}
	return v
}
