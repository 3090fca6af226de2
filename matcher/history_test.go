package matcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/manifest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
)

// historyRelease is gateRelease's site reading image:tag.
func historyRelease(image, tag string) []manifest.Site {
	yaml := strings.NewReplacer("registry.example/team/app", image, "tag: 1.0.0", "tag: "+tag).Replace(gateRelease(""))
	sites, problems := manifest.Parse("app.yaml", []byte(yaml))
	if len(sites) != 1 || len(problems) != 0 {
		panic(fmt.Sprintf("%v %v", sites, problems))
	}
	return sites
}

// TestHoldsRebuiltFromGitHistory (the pure part): from the first-parent
// history, newest first, the last tag hoist wrote per site, and a hold
// where the site reads an older tag now, blamed on the person's commit
// that set it last (or the head when none is found).
func TestHoldsRebuiltFromGitHistoryRecords(t *testing.T) {
	const img = "registry.example/team/app"
	app := siteID{File: "app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}
	other := siteID{File: "app.yaml", Resource: "apps:helmrelease/other", Container: "chart-image"}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	hoist := func(h string, m int, sets ...siteTag) histCommit {
		return histCommit{Hash: h, When: at(m), Hoist: true, Set: sets}
	}
	person := func(h string, m int, sets ...siteTag) histCommit {
		return histCommit{Hash: h, When: at(m), Set: sets}
	}
	set := func(s siteID, tag string) siteTag { return siteTag{Site: s, Image: img, Tag: tag} }
	now := at(100)
	for _, tc := range []struct {
		name    string
		commits []histCommit // newest first
		head    []manifest.Site
		// want: the record's Written and, when held, RolledBackTo and HeldCommit.
		written, rolledBackTo, heldCommit string
		heldSince                         time.Time
		none                              bool
	}{
		{name: "no hoist commit", commits: []histCommit{person("p1", 2, set(app, "1.0.0"))}, head: historyRelease(img, "1.0.0"), none: true},
		{name: "hoist wrote, site reads it", commits: []histCommit{hoist("h1", 1, set(app, "1.1.0"))},
			head: historyRelease(img, "1.1.0"), written: "1.1.0"},
		{name: "the newest hoist write wins", commits: []histCommit{hoist("h2", 2, set(app, "1.2.0")), hoist("h1", 1, set(app, "1.1.0"))},
			head: historyRelease(img, "1.2.0"), written: "1.2.0"},
		{name: "rolled back by a person", commits: []histCommit{person("p1", 3, set(app, "1.1.0")), hoist("h2", 2, set(app, "1.2.0"))},
			head: historyRelease(img, "1.1.0"), written: "1.2.0", rolledBackTo: "1.1.0", heldCommit: "p1", heldSince: at(3)},
		{name: "the person's last commit is blamed", commits: []histCommit{person("p2", 4, set(app, "1.0.0")), person("p1", 3, set(app, "1.1.0")), hoist("h2", 2, set(app, "1.2.0"))},
			head: historyRelease(img, "1.0.0"), written: "1.2.0", rolledBackTo: "1.0.0", heldCommit: "p2", heldSince: at(4)},
		{name: "a person's commit before hoist's is not the rollback", commits: []histCommit{hoist("h2", 2, set(app, "1.2.0")), person("p1", 1, set(app, "1.1.0"))},
			head: historyRelease(img, "1.2.0"), written: "1.2.0"},
		{name: "older at head, no person's commit found: blamed on the head", commits: []histCommit{hoist("h2", 2, set(app, "1.2.0"))},
			head: historyRelease(img, "1.1.0"), written: "1.2.0", rolledBackTo: "1.1.0", heldCommit: "head", heldSince: now},
		{name: "moved forward by a person: no hold", commits: []histCommit{person("p1", 3, set(app, "1.3.0")), hoist("h2", 2, set(app, "1.2.0"))},
			head: historyRelease(img, "1.3.0"), written: "1.2.0"},
		{name: "another site's commits change nothing", commits: []histCommit{person("p1", 3, set(other, "0.1.0")), hoist("h2", 2, set(app, "1.2.0"), set(other, "0.2.0"))},
			head: historyRelease(img, "1.2.0"), written: "1.2.0"},
		{name: "another image now: a record of the old image, no hold", commits: []histCommit{hoist("h2", 2, set(app, "1.2.0"))},
			head: historyRelease("registry.example/team/new", "1.0.0"), written: "1.2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := rebuiltRecords(context.Background(), "gitops", "main", lastWrites(tc.commits), tc.head, "head", nil, now)
			if tc.none {
				if len(recs) != 0 {
					t.Fatalf("records %+v, want none", recs)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("records %+v, want one", recs)
			}
			r := recs[0]
			if r.File != app.File || r.Resource != app.Resource || r.Container != app.Container || r.Repo != "gitops" || r.Branch != "main" || r.Image != img {
				t.Errorf("record of %+v, image %s", r.Site, r.Image)
			}
			held := tc.rolledBackTo != ""
			if r.Written != tc.written || r.Held != held || r.RolledBackTo != tc.rolledBackTo || r.HeldCommit != tc.heldCommit || !r.HeldSince.Equal(tc.heldSince) {
				t.Errorf("record %+v; want written %s, rolled back to %q by %q at %s", r, tc.written, tc.rolledBackTo, tc.heldCommit, tc.heldSince)
			}
		})
	}
}

// TestTagsSet: a commit sets the sites whose tag differs from its parent's,
// and every site of a file it adds.
func TestTagsSet(t *testing.T) {
	const img = "registry.example/team/app"
	before, same, after := historyRelease(img, "1.0.0"), historyRelease(img, "1.0.0"), historyRelease(img, "1.1.0")
	if got := tagsSet(before, same); len(got) != 0 {
		t.Errorf("unchanged file: %+v", got)
	}
	for _, b := range [][]manifest.Site{before, nil} {
		got := tagsSet(b, after)
		if len(got) != 1 || got[0].Tag != "1.1.0" || got[0].Image != img || got[0].Site.Container != "chart-image" {
			t.Errorf("changed from %v: %+v", b, got)
		}
	}
}

// commitFile commits path with content on main through the git server, as
// a person (or hoist, by its message's trailer) would, and returns the commit.
func commitFile(t *testing.T, r *testgit.Repo, path, content, message string) string {
	t.Helper()
	dir := r.Clone(t, "main")
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(path)), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "commit", "--quiet", "-am", message)
	testgit.Git(t, dir, "push", "--quiet", "origin", "main")
	return r.Head(t, "main")
}

// rolledBackRepo is repository "a" on a git server: releaseYAML (1.2.3),
// hoist's commit of 1.2.4, and a person's commit back to 1.2.3 (rolled).
func rolledBackRepo(t *testing.T) (a *testgit.Repo, rolled string) {
	t.Helper()
	a = testgit.NewServer(t).NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseYAML})
	commitFile(t, a, "app.yaml", strings.Replace(releaseYAML, "tag: 1.2.3", "tag: 1.2.4", 1),
		"Update app to 1.2.4\n\nHoist-Event-Ids: ev-0")
	return a, commitFile(t, a, "app.yaml", releaseYAML, "Roll app back to 1.2.3")
}

// TestHoldsLostWhileRunningRebuiltBeforeDeciding: hoist wrote 1.2.4 and a
// person set the site back to 1.2.3; a matcher meeting the branch with an
// empty holds bucket rebuilds the hold from git history before it decides
// anything. The bucket is then lost while the matcher runs and nothing
// refreshes the repository (no periodic fetch): the next push of 1.2.4
// waits for the records to be rebuilt and is not written; 1.2.5 is.
func TestHoldsLostWhileRunningRebuiltBeforeDeciding(t *testing.T) {
	a, rolled := rolledBackRepo(t)
	h := startService(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main"}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	ctx := context.Background()
	holds, err := bus.OpenHolds(ctx, h.conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	site := bus.Site{Repo: "a", Branch: "main", File: "app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}
	rec, ok, err := holds.Get(ctx, site)
	if err != nil || !ok || !rec.Held || rec.Written != "1.2.4" || rec.RolledBackTo != "1.2.3" || rec.HeldCommit != rolled {
		t.Fatalf("record at start %+v (%v, %v), want held: rolled back from 1.2.4 to 1.2.3 by %s", rec, ok, err, rolled)
	}

	if err := h.conn.JS.DeleteKeyValue(ctx, bus.HoldsBucket); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the bucket re-created empty", func() bool { return h.conn.Ready(ctx) == nil }) // Ready asks for the repair
	now := time.Now().UTC()
	h.push(t, bus.PushEvent{ID: "ev-1", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	testenv.Eventually(t, "the push decided", func() bool { return h.pendingPushes(t) == 0 })
	if rec, _, err := holds.Get(ctx, site); err != nil || !rec.Held {
		t.Fatalf("record after the loss %+v (%v), want held", rec, err)
	}
	h.push(t, bus.PushEvent{ID: "ev-2", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.5", PushedAt: now, ReceivedAt: now})
	if rws := h.rewrites(t, "a", "main", 1); rws[0].Tag != "1.2.5" {
		t.Fatalf("rewrite %+v: the tag rolled back from was written after the holds were lost", rws[0])
	}
}

// TestHoldsNotRebuiltForMergedWrites: in a repository whose updates a
// person merges (pull-request mode, a push branch) the committer records
// no tag written, so none is rebuilt from history: hoist's merged commit
// rolled back by a person holds nothing, as it would not have before.
func TestHoldsNotRebuiltForMergedWrites(t *testing.T) {
	a, _ := rolledBackRepo(t)
	h := startService(t, Config{Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main", MergedWrites: true}}})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	now := time.Now().UTC()
	h.push(t, bus.PushEvent{ID: "ev-1", Registry: "127.0.0.1:5000", Repository: "team/app", Tag: "1.2.4", PushedAt: now, ReceivedAt: now})
	if rws := h.rewrites(t, "a", "main", 1); rws[0].Tag != "1.2.4" {
		t.Fatalf("rewrite %+v", rws[0])
	}
	holds, err := bus.OpenHolds(context.Background(), h.conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := holds.List(context.Background(), true); err != nil || len(recs) != 0 {
		t.Errorf("records %+v (%v), want none", recs, err)
	}
}
