package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testnotify"
	"github.com/hoist-gitops/hoist/notify"
)

// startGateStage runs some of hoist's stages in-process with the
// configuration file cfgFile (the test's NATS server and repository) until
// the test ends or stop is called.
func startGateStage(t *testing.T, cfgFile string, st stages) *served {
	t.Helper()
	return startServe(t, serveOpts{config: cfgFile, name: "gates", stages: &st})
}

// gateSetup is what the gate tests run hoist against: a NATS server, a
// repository seeded with serveRelease, a sink for hold notifications, and
// a hoist.yaml naming the three.
type gateSetup struct {
	bus     *bustest.Bus
	repo    *testgit.Repo
	seed    string // the repository's first commit
	holds   *testnotify.Sink
	cfgFile string
}

// newGateSetup makes a gateSetup whose hoist.yaml has images as its one
// images: rule.
func newGateSetup(t *testing.T, images string) *gateSetup {
	t.Helper()
	g := &gateSetup{bus: bustest.Start(t), repo: testgit.NewServer(t).NewRepo(t, "gitops"), holds: testnotify.Start(t, false)}
	g.seed = g.repo.SeedFiles(t, "main", map[string]string{"apps/app.yaml": serveRelease})
	g.cfgFile = gateConfig(t, g.bus.URL, g.repo.URL, images, g.holds.URL)
	return g
}

// gateConfig writes a hoist.yaml for the test's NATS server and repository,
// sending hold events to notifyURL ("": none).
func gateConfig(t *testing.T, natsURL, repoURL, images string, notifyURL ...string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "hoist.yaml")
	notifyYAML := ""
	if len(notifyURL) > 0 {
		notifyYAML = fmt.Sprintf("notify: [{url: %q, events: [hold]}]\n", notifyURL[0])
	}
	yaml := notifyYAML + fmt.Sprintf(`
nats: {url: %q}
dataDir: %s/data
receivers:
  - {name: ci, kind: generic, secret: s3cret}
images: [%s]
repositories:
  - name: gitops
    url: %s
    fetchInterval: 1s
    commit: {window: 0s}
`, natsURL, dir, images, repoURL)
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMinimumAgeHeldThenCommitted: a tag younger than images[].minAge is
// held — the push goes back to JetStream until the tag is old enough, and
// nothing is committed — and a matcher restarted meanwhile commits it once
// it is old enough, without the webhook being sent again.
func TestMinimumAgeHeldThenCommitted(t *testing.T) {
	g := newGateSetup(t, `{match: "**", verify: none, minAge: 12s}`)
	front := startGateStage(t, g.cfgFile, stages{ingest: true, commit: true})
	match := startGateStage(t, g.cfgFile, stages{match: true})

	front.mustPush(t, "127.0.0.1:5000/team/app:1.2.4")
	testenv.Eventually(t, "the push held for its minimum age", func() bool {
		return strings.Contains(match.logs.String(), "push held for its minimum age")
	})
	if !strings.Contains(match.logs.String(), "held until") {
		t.Errorf("the hold does not say until when:\n%s", match.logs.String())
	}
	if ev := g.holds.Next(t); ev.Kind != notify.KindHold || ev.Hold == nil || ev.Hold.Tag != "1.2.4" || ev.Hold.Until.IsZero() {
		t.Errorf("hold notification %+v", ev)
	}
	if err := match.stop(); err != nil { // the push is held in JetStream, not in the matcher
		t.Fatal(err)
	}
	if head := g.repo.Head(t, "main"); head != g.seed {
		t.Fatalf("a tag younger than its minimum age was committed")
	}
	// hoist images and hoist explain, given the deployment's configuration, say until when.
	work := filepath.Join(t.TempDir(), "work")
	testgit.Git(t, "", "clone", "--quiet", g.repo.URL, work)
	t.Chdir(work)
	var out, errOut bytes.Buffer
	if code := run([]string{"images", "--config", g.cfgFile, "--output", "json"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), `"waiting": "1.2.4 held for its minimum age until `) {
		t.Errorf("hoist images --config: %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"explain", "--config", g.cfgFile, "127.0.0.1:5000/team/app:1.2.4"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "held until ") {
		t.Errorf("hoist explain --config: %d\n%s%s", code, out.String(), errOut.String())
	}

	match = startGateStage(t, g.cfgFile, stages{match: true})
	testenv.Eventually(t, "the commit once the tag is old enough", func() bool { return g.repo.Head(t, "main") != g.seed })
	if got := g.repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.4\n") {
		t.Fatalf("apps/app.yaml after the commit:\n%s", got)
	}
	// The commit was made only once the tag was old enough.
	tt, err := bus.OpenTagTimes(context.Background(), g.bus.JS)
	if err != nil {
		t.Fatal(err)
	}
	seen, ok := tt.FirstSeen(context.Background(), "127.0.0.1:5000/team/app", "1.2.4")
	if !ok {
		t.Fatal("no first-seen time for the tag")
	}
	if at := commitTime(t, g.repo, "main"); at.Before(seen.Add(12 * time.Second).Truncate(time.Second)) {
		t.Errorf("committed at %s, before the tag (first seen %s) was 12s old", at, seen)
	}
}

// commitTime is the committer date of branch's head.
func commitTime(t *testing.T, repo *testgit.Repo, branch string) time.Time {
	t.Helper()
	out := testgit.Git(t, repo.Dir, "log", "-1", "--format=%cI", branch)
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// rollBack commits apps/app.yaml reading tag as a person would: a clone
// through the git server, a commit by testgit's identity, a push.
func rollBack(t *testing.T, repo *testgit.Repo, tag string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	testgit.Git(t, "", "clone", "--quiet", "--branch", "main", repo.URL, dir)
	p := filepath.Join(dir, "apps", "app.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "tag: ") {
			lines[i] = l[:strings.Index(l, "tag: ")] + "tag: " + tag
		}
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	testgit.Git(t, dir, "commit", "--quiet", "-am", "Roll app back to "+tag)
	testgit.Git(t, dir, "push", "--quiet", "origin", "main")
	return repo.Head(t, "main")
}

// TestRollbackHoldsTheSite: a person rolls back what hoist wrote; a re-push
// of the tag rolled back from is not applied, by the matcher nor by the
// committer's re-check; a newer tag is, and ends the hold; hoist hold list
// shows a hold and hoist hold release lifts one.
func TestRollbackHoldsTheSite(t *testing.T) {
	g := newGateSetup(t, `{match: "**", verify: none}`)
	hoist := startGateStage(t, g.cfgFile, stages{ingest: true, match: true, commit: true})
	holds, err := bus.OpenHolds(context.Background(), g.bus.JS)
	if err != nil {
		t.Fatal(err)
	}
	site := bus.Site{Repo: "gitops", Branch: "main", File: "apps/app.yaml", Resource: "apps:helmrelease/app", Container: "chart-image"}
	record := func() bus.SiteRecord {
		rec, _, err := holds.Get(context.Background(), site)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	const image = "127.0.0.1:5000/team/app"
	pushAndWait := func(tag string) string { t.Helper(); return hoist.pushDecided(t, image+":"+tag) }

	pushAndWait("1.2.4")
	testenv.Eventually(t, "hoist's commit of 1.2.4", func() bool { return g.repo.Head(t, "main") != g.seed })
	testenv.Eventually(t, "the tag written recorded", func() bool { return record().Written == "1.2.4" })

	rolled := rollBack(t, g.repo, "1.2.3")
	testenv.Eventually(t, "the matcher to hold the rolled-back site", func() bool { return record().Held })
	if rec := record(); rec.RolledBackTo != "1.2.3" {
		t.Errorf("held record %+v, want rolled back to 1.2.3", rec)
	}
	if ev := g.holds.Next(t); ev.Kind != notify.KindHold || ev.Hold == nil || ev.Hold.Tag != "1.2.4" || !ev.Hold.Until.IsZero() ||
		!strings.Contains(ev.Hold.Reason, "rolled back from 1.2.4 to 1.2.3") {
		t.Errorf("hold notification %+v", ev)
	}
	var out, errOut bytes.Buffer
	work := filepath.Join(t.TempDir(), "images")
	testgit.Git(t, "", "clone", "--quiet", g.repo.URL, work)
	t.Chdir(work)
	if code := run([]string{"images", "--config", g.cfgFile, "--output", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("hoist images: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "rolled back from 1.2.4 to 1.2.3 by a person") {
		t.Errorf("hoist images --config does not show the hold:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"hold", "list", "--config", g.cfgFile, "--output", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("hoist hold list: %d %s", code, errOut.String())
	}
	var listed []bus.SiteRecord
	if err := json.Unmarshal(out.Bytes(), &listed); err != nil || len(listed) != 1 || listed[0].Site != site || !listed[0].Held {
		t.Fatalf("hoist hold list: %v %s", err, out.String())
	}

	// The tag rolled back from, pushed again (with a digest: the same push
	// again would be a duplicate ingest drops).
	if line := pushAndWait("1.2.4@sha256:" + strings.Repeat("a", 64)); !strings.Contains(line, `"rewrites":0`) {
		t.Fatalf("the matcher approved the tag rolled back from: %s", line)
	}
	if head := g.repo.Head(t, "main"); head != rolled {
		t.Fatalf("the re-push of the tag rolled back from was committed over the person's rollback")
	}
	// A rewrite the matcher decided before it saw the rollback: the
	// committer's re-check at the head drops it.
	late := bus.Rewrite{EventIDs: []string{"late"}, Repo: "gitops", Branch: "main", File: site.File, Resource: site.Resource,
		Container: site.Container, Image: image, Old: image + ":1.2.3", New: image + ":1.2.4", Tag: "1.2.4", PushedAt: time.Now()}
	data, _ := json.Marshal(late)
	if _, err := g.bus.JS.Publish(context.Background(), bus.RewriteSubject("gitops", "main"), data); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the committer to drop the late rewrite", func() bool {
		return strings.Contains(hoist.logs.String(), `"event_id":"late"`) && strings.Contains(hoist.logs.String(), "rolled back from 1.2.4")
	})
	if head := g.repo.Head(t, "main"); head != rolled {
		t.Fatalf("the committer wrote a held tag over the person's rollback")
	}

	pushAndWait("1.2.5") // strictly newer: applied, and the hold ends
	testenv.Eventually(t, "the commit of 1.2.5", func() bool { return g.repo.Head(t, "main") != rolled })
	if got := g.repo.Show(t, "main", "apps/app.yaml"); !strings.Contains(got, "tag: 1.2.5\n") {
		t.Fatalf("apps/app.yaml:\n%s", got)
	}
	testenv.Eventually(t, "the hold ended", func() bool { rec := record(); return rec.Written == "1.2.5" && !rec.Held })

	// Rolled back again, then released by hand: the tag comes back.
	rolled = rollBack(t, g.repo, "1.2.3")
	testenv.Eventually(t, "the second hold", func() bool { return record().Held })
	out.Reset()
	if code := run([]string{"hold", "release", "--config", g.cfgFile, "gitops", site.Resource, site.Container}, &out, &errOut); code != 0 {
		t.Fatalf("hoist hold release: %d %s", code, errOut.String())
	}
	pushAndWait("1.2.5@sha256:" + strings.Repeat("b", 64))
	testenv.Eventually(t, "the commit of 1.2.5 after the release", func() bool { return g.repo.Head(t, "main") != rolled })
}

// TestExplainSaysHeldUntil: hoist explain holds a tag younger than its
// minimum age; with a deployment's --config it reads the first-seen time
// from NATS and says until when, without it says the time is unknown.
func TestExplainSaysHeldUntil(t *testing.T) {
	dir := t.TempDir()
	release := strings.Replace(serveRelease, "    filter.fluxcd.io/chart-image: semver:~1.2\n",
		"    filter.fluxcd.io/chart-image: semver:~1.2\n    hoist.dev/min-age.chart-image: 2h\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHoist(t, "explain", "127.0.0.1:5000/team/app:1.2.4", dir)
	if code != 0 || !strings.Contains(out, "held") || !strings.Contains(out, "first-seen time of 1.2.4 is unknown") {
		t.Fatalf("explain without NATS: exit %d\n%s%s", code, out, errOut)
	}

	b := bustest.Start(t)
	tt, err := bus.OpenTagTimes(context.Background(), b.JS)
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if _, err := tt.Record(context.Background(), "127.0.0.1:5000/team/app", "1.2.4", seen); err != nil {
		t.Fatal(err)
	}
	cfgFile := gateConfig(t, b.URL, "file:///nowhere", `{match: "**", verify: none}`)
	code, out, errOut = runHoist(t, "explain", "--config", cfgFile, "--output", "json", "127.0.0.1:5000/team/app:1.2.4", dir)
	var rows []explainRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 {
		t.Fatalf("explain --config: exit %d %v\n%s%s", code, err, out, errOut)
	}
	want := seen.Add(2 * time.Hour).Format(time.RFC3339)
	if r := rows[0]; r.Decision != "held" || r.HeldUntil != want || !strings.Contains(r.Reason, "held until "+want) {
		t.Errorf("explain --config: %+v, want held until %s", r, want)
	}
}
