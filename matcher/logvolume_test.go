package matcher

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// startLogged is startService logging at debug level into a buffer.
func startLogged(t *testing.T, cfg Config) (*harness, *testenv.LogBuffer) {
	t.Helper()
	logs := &testenv.LogBuffer{}
	return startServiceLogging(t, cfg, zerolog.New(logs).Level(zerolog.DebugLevel)), logs
}

// appRelease is an automated HelmRelease named name using image at 1.2.3.
func appRelease(name, image string) string {
	return strings.NewReplacer("name: app", "name: "+name, "127.0.0.1:5000/team/app", image).Replace(releaseYAML)
}

// A push touching many sites writes one info line with the counts and its
// event id, each rewrite at debug; a push that concerns no site writes no
// info line at all.
func TestLogsAtTheRightVolumeMatcher(t *testing.T) {
	const sites = 25
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	files := map[string]string{}
	for i := range sites {
		files[fmt.Sprintf("apps/app%02d.yaml", i)] = appRelease(fmt.Sprintf("app%02d", i), "127.0.0.1:5000/team/app")
	}
	a.SeedFiles(t, "main", files)
	h, logs := startLogged(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main"}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)

	now := time.Now().UTC()
	h.push(t, bus.PushEvent{ID: "ev-many", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	h.push(t, bus.PushEvent{ID: "ev-none", Registry: "127.0.0.1:5000", Repository: "team/other", Tag: "1.0.0", PushedAt: now, ReceivedAt: now})
	h.rewrites(t, "a", "main", sites)
	testenv.Eventually(t, "both pushes handled", func() bool { return len(logs.Lines(t, "push matched")) == 2 })

	byEvent := map[string]map[string]any{}
	for _, l := range logs.Lines(t, "push matched") {
		byEvent[l["event_id"].(string)] = l
	}
	many, none := byEvent["ev-many"], byEvent["ev-none"]
	if many == nil || none == nil {
		t.Fatalf("push matched lines: %v", byEvent)
	}
	if many["level"] != "info" || many["sites"] != float64(sites) || many["rewrites"] != float64(sites) {
		t.Errorf("summary of the push with %d sites: %v", sites, many)
	}
	if none["level"] != "debug" {
		t.Errorf("a push with no site logged at %v, want debug", none["level"])
	}
	published := logs.Lines(t, "rewrite published")
	if len(published) != sites {
		t.Errorf("%d \"rewrite published\" lines, want one per rewrite (%d)", len(published), sites)
	}
	for _, l := range published {
		if l["level"] != "debug" || l["event_id"] != "ev-many" {
			t.Errorf("rewrite line %v, want debug with event_id ev-many", l)
		}
	}
	info := 0
	for _, l := range logs.Lines(t, "") {
		if l["level"] == "info" && l["event_id"] != nil {
			info++
		}
	}
	if info != 1 {
		t.Errorf("%d info lines about pushes, want 1", info)
	}
}

// The first index of a repository says what it is doing: cloning, then how
// many files it has read and sites found every ProgressEvery files, before
// "index updated".
func TestStartUpProgressOnBigRepositories(t *testing.T) {
	const n = 35
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("apps/app%02d.yaml", i)] = appRelease(fmt.Sprintf("app%02d", i), fmt.Sprintf("127.0.0.1:5000/team/app%02d", i))
	}
	a.SeedFiles(t, "main", files)
	h, logs := startLogged(t, Config{ProgressEvery: 10, Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main"}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)

	var order []string
	read := map[float64]map[string]any{}
	for _, l := range logs.Lines(t, "") {
		switch msg := l["message"].(string); msg {
		case "cloning repository", "repository fetched; indexing its manifests", "index updated":
			order = append(order, msg)
		case "indexing repository":
			order = append(order, msg)
			read[l["files_read"].(float64)] = l
			if l["level"] != "info" || l["repo"] != "a" || l["branch"] != "main" || l["sites"] == nil || l["duration_ms"] == nil {
				t.Errorf("progress line %v", l)
			}
		}
	}
	for _, want := range []float64{10, 20, 30} {
		if read[want] == nil {
			t.Errorf("no progress line at %v files read (lines: %v)", want, read)
		}
	}
	if len(order) < 5 || order[0] != "cloning repository" || order[1] != "repository fetched; indexing its manifests" || order[len(order)-1] != "index updated" {
		t.Errorf("index lines in order %q", order)
	}
	if got := logs.Lines(t, "index updated"); len(got) != 1 || got[0]["sites"] != float64(n) || got[0]["files_changed"] != float64(n) {
		t.Errorf("index updated: %v", got)
	}
}
