package committer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
)

// Item 3: the body lists every change and keeps the record of them; a pull
// request of thousands of changes (a branch template that puts every image
// in one pull request) still fits GitHub's 65,536-character limit on a body,
// which would otherwise refuse the pull request on every attempt.
func TestPullRequestBodyFitsTheForgeLimit(t *testing.T) {
	var rws []bus.Rewrite
	for i := range 3000 {
		rws = append(rws, rewrite("gitops", "main", fmt.Sprintf("apps/app%04d.yaml", i), fmt.Sprintf("app%04d", i), "1.0.0", "1.1.0", fmt.Sprintf("ev-%04d", i)))
	}
	cs := mergeChanges(nil, rws)
	body := renderBody("main", "hoist/all", cs)
	if n := len([]rune(body)); n > maxBodyRunes {
		t.Fatalf("body of %d characters, want at most %d", n, maxBodyRunes)
	}
	if !strings.Contains(body, "`apps/app0000.yaml`") || !strings.Contains(body, "more changes") || !isHoistBody(body) {
		t.Fatalf("a shortened body names the first changes and how many more, and is hoist's:\n%.600s", body)
	}

	// A small one lists everything and can be read back.
	small := mergeChanges(nil, rws[:2])
	body = renderBody("main", "hoist/all", small)
	if got := bodyChanges(body); len(got) != 2 || got[1].New != "registry.example/app0001:1.1.0" {
		t.Fatalf("record read back: %+v", got)
	}
	if strings.Contains(body, "more changes") || strings.Count(body, "pushed to the registry") != 2 {
		t.Fatalf("small body:\n%s", body)
	}

	// A newer tag for a site replaces its row and keeps the tracked value as Old.
	newer := rws[0]
	newer.Old, newer.New, newer.Tag, newer.EventIDs, newer.PushedAt = newer.New, "registry.example/app0000:1.2.0", "1.2.0", []string{"ev-new"}, time.Now()
	merged := mergeChanges(small, []bus.Rewrite{newer})
	if len(merged) != 2 || merged[0].Old != "registry.example/app0000:1.0.0" || merged[0].New != "registry.example/app0000:1.2.0" {
		t.Fatalf("merged %+v", merged)
	}
}
