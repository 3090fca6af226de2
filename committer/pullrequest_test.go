package committer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoist-gitops/hoist/committer/forge"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/testforge"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testnotify"
	"github.com/hoist-gitops/hoist/notify"
)

// giteaRepo is a repository on the test Gitea seeded with n automated apps.
func giteaRepo(t *testing.T, g *testforge.Gitea, name string, n int) *testforge.Repo {
	t.Helper()
	files := map[string]string{"README.md": "GitOps\n"}
	for i := range n {
		files[appFile(i)] = deployment(appName(i), "registry.example/"+appName(i)+":1.0.0")
	}
	return g.NewRepo(t, name, files)
}

// prRepo is the committer's configuration of r in pull-request mode, the
// one forge token serving git and the API.
func prRepo(g *testforge.Gitea, r *testforge.Repo) Repo {
	return Repo{
		Name: "gitops", URL: r.URL, Branch: "main",
		Auth: Auth{Username: testforge.User, Password: g.Token},
		PullRequest: &PullRequest{
			Provider: "gitea", APIURL: g.APIURL, Token: g.Token, Labels: []string{"hoist"},
		},
	}
}

func commitPR(t *testing.T, w *writer, rws ...bus.Rewrite) Result {
	t.Helper()
	res, err := w.commit(context.Background(), rws, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func openPRs(prs []testforge.PR) []testforge.PR {
	var out []testforge.PR
	for _, p := range prs {
		if p.State == "open" {
			out = append(out, p)
		}
	}
	return out
}

// gitParent is the first parent of rev in a working copy.
func gitParent(t *testing.T, dir, rev string) string {
	t.Helper()
	return strings.TrimSpace(testgit.Git(t, dir, "rev-parse", rev+"^"))
}

// Items 1-3 and 4 against a real Gitea: one branch and one open pull
// request per image; a newer tag updates the same branch and pull request
// (title and body follow); a person's commit on hoist's branch is kept; a
// merged pull request is never reopened (the next update opens a new one
// from the tracked head); hoist closes its own pull request when the
// tracked branch already has the value.
func TestPullRequestLifecycleOnGitea(t *testing.T) {
	g := testforge.StartGitea(t)
	r := giteaRepo(t, g, "gitops", 2)
	mainHead := r.Head(t, "main")
	w := newTestWriter(t, prRepo(g, r))
	const branch = "hoist/registry.example-app0"

	// One pull request per image.
	res := commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1"), appRewrite("gitops", 1, "1.0.0", "2.0.0", "ev-2"))
	if len(res.PRs) != 2 || res.PRs[0].Action != PROpened || res.PRs[1].Action != PROpened || res.PRs[0].Branch != branch {
		t.Fatalf("first batch: %+v, want two pull requests opened", res.PRs)
	}
	if r.Head(t, "main") != mainHead {
		t.Fatal("pull-request mode pushed to the tracked branch")
	}
	prs := r.PullRequests(t)
	if len(prs) != 2 {
		t.Fatalf("pull requests %+v, want 2", prs)
	}
	first := res.PRs[0].PR
	pr := findPR(t, prs, first.Number)
	if pr.Head.Ref != branch || pr.Base.Ref != "main" || pr.Title != "Update registry.example/app0 to 1.1.0" ||
		len(pr.Labels) != 1 || pr.Labels[0].Name != "hoist" || pr.URL != first.URL {
		t.Fatalf("pull request %+v", pr)
	}
	for _, want := range []string{"`apps/app0.yaml`", "`apps:deployment/app0`", "`app`", "`registry.example/app0:1.0.0` → `registry.example/app0:1.1.0`", "ev-1", "### Checks"} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, pr.Body)
		}
	}
	if got := r.Show(t, branch, appFile(0)); !strings.Contains(got, "registry.example/app0:1.1.0") {
		t.Fatalf("branch file:\n%s", got)
	}
	if msg := testgit.Git(t, r.Clone(t, branch), "log", "-1", "--format=%B"); !strings.HasPrefix(msg, "Update images\n") || !strings.Contains(msg, "Hoist-Event-Ids: ev-1") {
		t.Fatalf("the commit message changed in pull-request mode:\n%s", msg)
	}

	// A newer tag: the same branch and pull request, title and body follow.
	newer := appRewrite("gitops", 0, "1.0.0", "1.2.0", "ev-3")
	res = commitPR(t, w, newer)
	if len(res.PRs) != 1 || res.PRs[0].Action != PRUpdated || res.PRs[0].PR.Number != first.Number || res.PRs[0].Commit.IsZero() {
		t.Fatalf("newer tag: %+v, want the same pull request updated with a commit", res.PRs)
	}
	pr = findPR(t, r.PullRequests(t), first.Number)
	if pr.Title != "Update registry.example/app0 to 1.2.0" || !strings.Contains(pr.Body, "`registry.example/app0:1.0.0` → `registry.example/app0:1.2.0`") || strings.Contains(pr.Body, ":1.1.0`") {
		t.Fatalf("updated pull request %q:\n%s", pr.Title, pr.Body)
	}
	if n := len(openPRs(r.PullRequests(t))); n != 2 {
		t.Fatalf("%d open pull requests, want still 2", n)
	}
	// Redelivered: nothing changes.
	res = commitPR(t, w, newer)
	if len(res.PRs) != 1 || res.PRs[0].Action != PRUnchanged || !res.PRs[0].Commit.IsZero() {
		t.Fatalf("redelivery: %+v, want the pull request unchanged", res.PRs)
	}

	// A person's commit on hoist's branch is kept; hoist adds on top.
	person := r.Clone(t, branch)
	testgit.Git(t, person, "commit", "--quiet", "--allow-empty", "-m", "Note from a person")
	testgit.Git(t, person, "push", "--quiet", "origin", branch)
	theirs := r.Head(t, branch)
	res = commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.3.0", "ev-4"))
	if len(res.PRs) != 1 || res.PRs[0].PR.Number != first.Number {
		t.Fatalf("after a person's commit: %+v, want the same pull request", res.PRs)
	}
	testgit.Git(t, person, "pull", "--quiet", "--ff-only", "origin", branch)
	if gitParent(t, person, "HEAD") != theirs {
		t.Fatal("hoist did not add on top of the person's commit")
	}

	// Merged through the API: never reopened; the next update opens a new
	// pull request on a branch started from the tracked head.
	r.Merge(t, first.Number)
	merged := r.Head(t, "main")
	res = commitPR(t, w, appRewrite("gitops", 0, "1.3.0", "1.4.0", "ev-5"))
	if len(res.PRs) != 1 || res.PRs[0].Action != PROpened || res.PRs[0].PR.Number == first.Number || res.PRs[0].Branch != branch {
		t.Fatalf("after the merge: %+v, want a new pull request on %s", res.PRs, branch)
	}
	second := res.PRs[0].PR
	if pr := findPR(t, r.PullRequests(t), first.Number); !pr.Merged {
		t.Fatalf("the merged pull request is %+v", pr)
	}
	fresh := r.Clone(t, branch)
	if gitParent(t, fresh, "HEAD") != merged {
		t.Fatalf("the new branch starts at %s, want the tracked head %s", gitParent(t, fresh, "HEAD"), merged)
	}

	// The tracked branch gets the value another way: hoist closes its pull
	// request with a comment instead of proposing it.
	main := r.Clone(t, "main")
	file := main + "/" + appFile(0)
	data := strings.Replace(readFile(t, file), "registry.example/app0:1.3.0", "registry.example/app0:1.5.0", 1)
	writeTestFile(t, file, data)
	testgit.Git(t, main, "commit", "--quiet", "-am", "Bump app0 by hand")
	testgit.Git(t, main, "push", "--quiet", "origin", "main")
	res = commitPR(t, w, appRewrite("gitops", 0, "1.3.0", "1.5.0", "ev-6"))
	if len(res.PRs) != 1 || res.PRs[0].Action != PRClosed || res.PRs[0].PR.Number != second.Number {
		t.Fatalf("tracked branch has the value: %+v, want pull request %d closed", res.PRs, second.Number)
	}
	if pr := findPR(t, r.PullRequests(t), second.Number); pr.State != "closed" || pr.Merged {
		t.Fatalf("pull request %d is %+v", second.Number, pr)
	}
	if cs := r.Comments(t, second.Number); len(cs) != 1 || !strings.Contains(cs[0], "already has every change") {
		t.Fatalf("comments %q", cs)
	}
}

func findPR(t *testing.T, prs []testforge.PR, number int64) testforge.PR {
	t.Helper()
	for _, p := range prs {
		if p.Number == number {
			return p
		}
	}
	t.Fatalf("pull request %d not among %+v", number, prs)
	return testforge.PR{}
}

// Item 2: a crash between the push of the branch and the opening of the
// pull request ends with exactly one pull request once the batch is
// redelivered (find-or-create by head branch), and no second commit.
func TestPullRequestCrashBetweenPushAndOpen(t *testing.T) {
	g := testforge.StartGitea(t)
	r := giteaRepo(t, g, "gitops", 1)
	type crash struct{}
	w := newTestWriter(t, prRepo(g, r))
	w.failpoint = func(p string) {
		if p == "pr-pushed" {
			panic(crash{})
		}
	}
	batch := []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}
	func() {
		defer func() {
			if _, ok := recover().(crash); !ok {
				t.Fatal("the failpoint after the push was not reached")
			}
		}()
		w.commit(context.Background(), batch, nil)
	}()
	const branch = "hoist/registry.example-app0"
	pushed := r.Head(t, branch)
	if pushed == "" || len(r.PullRequests(t)) != 0 {
		t.Fatalf("after the crash: branch %q, pull requests %+v; want the branch and no pull request", pushed, r.PullRequests(t))
	}

	// The restarted committer (a new clone) gets the batch again.
	again := newTestWriter(t, prRepo(g, r))
	res := commitPR(t, again, batch...)
	if len(res.PRs) != 1 || res.PRs[0].Action != PROpened || !res.PRs[0].Commit.IsZero() {
		t.Fatalf("redelivery: %+v, want the pull request opened without a new commit", res.PRs)
	}
	prs := r.PullRequests(t)
	if len(prs) != 1 || prs[0].Head.Ref != branch || r.Head(t, branch) != pushed || !strings.Contains(prs[0].Body, "ev-1") {
		t.Fatalf("pull requests %+v, branch %s (pushed %s); want exactly one on the pushed commit", prs, r.Head(t, branch), pushed)
	}
	// And once more: still one.
	commitPR(t, again, batch...)
	if n := len(r.PullRequests(t)); n != 1 {
		t.Fatalf("%d pull requests after a second redelivery", n)
	}
}

// Items 4-5 end to end: rewrites published on the bus become a pull
// request, a newer one updates it, with metrics and the PR URL in the log.
func TestPullRequestFromTheBus(t *testing.T) {
	g := testforge.StartGitea(t)
	r := giteaRepo(t, g, "gitops", 1)
	b := startBus(t)
	reg := prometheus.NewRegistry()
	repo := prRepo(g, r)
	repo.Commit = DefaultCommit()
	repo.Commit.Window, repo.Commit.MaxWait = 100*time.Millisecond, time.Second
	sink := testnotify.Start(t, false)
	c, err := New(Config{Repos: []Repo{repo}, DataDir: t.TempDir(), Editor: testEditor(),
		Notifier: dispatcher(t, sink.URL, notify.Options{})}, b.js, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCommitter(t, c)

	b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1"))
	b.waitSettled(t, "gitops", "main", 2*time.Minute)
	prs := r.PullRequests(t)
	if len(prs) != 1 || prs[0].Title != "Update registry.example/app0 to 1.1.0" {
		t.Fatalf("pull requests %+v", prs)
	}
	// The commit notification links the pull request, where a person acts.
	if ev := sink.Next(t); ev.Kind != notify.KindCommit || ev.Commit == nil || ev.Commit.URL != prs[0].URL ||
		len(ev.Commit.EventIDs) != 1 || ev.Commit.EventIDs[0] != "ev-1" {
		t.Fatalf("commit notification %+v, want one linking %s", ev, prs[0].URL)
	}
	b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.2.0", "ev-2"))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		prs = r.PullRequests(t)
		if len(prs) == 1 && prs[0].Title == "Update registry.example/app0 to 1.2.0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull requests %+v, want the one updated to 1.2.0", prs)
		}
		time.Sleep(50 * time.Millisecond) // polling the forge's state, with a deadline
	}
	b.waitSettled(t, "gitops", "main", time.Minute)
	if v := metricValue(t, reg, "hoist_committer_pull_requests_total", "repo", "gitops", "action", "opened"); v != 1 {
		t.Errorf("opened = %v", v)
	}
	if v := metricValue(t, reg, "hoist_committer_pull_requests_total", "repo", "gitops", "action", "updated"); v != 1 {
		t.Errorf("updated = %v", v)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Item 2: a closed pull request whose branch holds a person's commit is
// never reopened and its branch is left alone: the next update goes to a
// new branch with a suffix, and later updates find that one.
func TestPullRequestClosedWithPersonsCommitGetsNewBranch(t *testing.T) {
	g := testforge.StartGitea(t)
	r := giteaRepo(t, g, "gitops", 1)
	w := newTestWriter(t, prRepo(g, r))
	const branch = "hoist/registry.example-app0"
	first := commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")).PRs[0].PR
	person := r.Clone(t, branch)
	testgit.Git(t, person, "commit", "--quiet", "--allow-empty", "-m", "Work of a person")
	testgit.Git(t, person, "push", "--quiet", "origin", branch)
	theirs := r.Head(t, branch)
	r.Close(t, first.Number)

	res := commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.2.0", "ev-2"))
	if len(res.PRs) != 1 || res.PRs[0].Action != PROpened || res.PRs[0].Branch != branch+"-2" {
		t.Fatalf("after closing: %+v, want a new pull request on %s-2", res.PRs, branch)
	}
	if r.Head(t, branch) != theirs {
		t.Fatal("the closed pull request's branch with a person's commit was changed")
	}
	if pr := findPR(t, r.PullRequests(t), first.Number); pr.State != "closed" {
		t.Fatalf("the closed pull request was reopened: %+v", pr)
	}
	res = commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.3.0", "ev-3"))
	if len(res.PRs) != 1 || res.PRs[0].Action != PRUpdated || res.PRs[0].Branch != branch+"-2" {
		t.Fatalf("next update: %+v, want the pull request of %s-2 updated", res.PRs, branch)
	}
	if n := len(r.PullRequests(t)); n != 2 {
		t.Fatalf("%d pull requests, want 2", n)
	}
}

// Item 1: the branch template's .Image is the canonical image repository
// made one safe branch-name component, and templates that fail or name an invalid
// branch are refused.
func TestPullRequestBranchTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"registry.example/team/api":         "registry.example-team-api",
		"registry.example/team/api/worker":  "registry.example-team-api-worker",
		"127.0.0.1:5000/team/API":           "127.0.0.1-5000-team-api",
		"docker.io/library/nginx":           "docker.io-library-nginx",
		"reg.example/.hidden/x..y/app.lock": "reg.example-.hidden-x.y-app",
		"reg.example/a b/c~d^e":             "reg.example-a-b-c-d-e",
	} {
		got := branchSafe(in)
		if got != want || !validBranch("hoist/"+got) {
			t.Errorf("branchSafe(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"hoist/{{ .Image ", "hoist/{{ .Nope }}", "hoist/{{ .Image }}/", "hoist..{{ .Image }}", "{{ .Image }} x"} {
		if err := CheckBranchTemplate(bad); err == nil {
			t.Errorf("branch template %q accepted", bad)
		}
	}
	if err := CheckBranchTemplate("updates/{{ .Repo }}/{{ .Branch }}/{{ .Image }}"); err != nil {
		t.Error(err)
	}
	err := (&PullRequest{BranchTemplate: "main", Provider: "gitea", APIURL: "https://git.example/api/v1", Token: "t"}).
		validate(Repo{Name: "gitops", URL: "https://git.example/team/gitops.git", Branch: "main"})
	if err == nil || !strings.Contains(err.Error(), "tracked branch") {
		t.Errorf("a template naming the tracked branch: %v", err)
	}
	if err := CheckTitleTemplate("{{ .Image }} {{ len .Changes }} {{ .PRBranch }}"); err != nil {
		t.Error(err)
	}
	if err := CheckTitleTemplate("{{ if false }}x{{ end }}"); err == nil {
		t.Error("a title template giving an empty title was accepted")
	}
}

// Environment of a committer child process in pull-request mode.
const (
	envForgeAPI   = "HOIST_COMMITTER_CHILD_FORGE_API"
	envForgeToken = "HOIST_COMMITTER_CHILD_FORGE_TOKEN"
)

// prChildRepo puts the child committer's repository in pull-request mode
// on the test Gitea named by the environment, if any.
func prChildRepo(r *Repo) {
	api := os.Getenv(envForgeAPI)
	if api == "" {
		return
	}
	token := os.Getenv(envForgeToken)
	r.Auth = Auth{Username: testforge.User, Password: token}
	r.PullRequest = &PullRequest{Provider: "gitea", APIURL: api, Token: token}
	r.Commit = DefaultCommit()
	r.Commit.Window, r.Commit.MaxWait = 50*time.Millisecond, time.Second
}

// Item 2 with real crashes: a committer process SIGKILLed after pushing
// the pull request's branch and before opening the pull request, or after
// opening it and before acknowledging; the restarted committer gets the
// rewrite again and the forge ends with exactly one pull request, on the
// pushed commit.
func TestPullRequestKilledBetweenPushAndOpen(t *testing.T) {
	g := testforge.StartGitea(t)
	for i, point := range []string{"pr-pushed", "pr-opened"} {
		t.Run(point, func(t *testing.T) {
			r := giteaRepo(t, g, fmt.Sprintf("gitops%d", i), 1)
			b := startBus(t)
			b.publish(t, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1"))
			dataDir := t.TempDir()
			env := []string{envForgeAPI + "=" + g.APIURL, envForgeToken + "=" + g.Token}

			first := startChildAt(t, b, r.URL, dataDir, point, env...)
			first.waitLine(t, "FAILPOINT "+point)
			first.kill(t)
			const branch = "hoist/registry.example-app0"
			pushed := r.Head(t, branch)
			want := map[string]int{"pr-pushed": 0, "pr-opened": 1}[point]
			if pushed == "" || len(r.PullRequests(t)) != want {
				t.Fatalf("after the kill: branch %q, pull requests %+v; want the branch pushed and %d pull requests", pushed, r.PullRequests(t), want)
			}

			second := startChildAt(t, b, r.URL, dataDir, "", env...)
			second.waitLine(t, "RUNNING")
			b.waitSettled(t, "gitops", "main", 2*time.Minute)
			second.stop(t)
			prs := r.PullRequests(t)
			if len(prs) != 1 || prs[0].Head.Ref != branch || prs[0].Head.SHA != pushed || r.Head(t, branch) != pushed {
				t.Fatalf("pull requests %+v, branch at %s; want exactly one, on the pushed commit %s", prs, r.Head(t, branch), pushed)
			}
		})
	}
}

// Item 1: automerge asks Gitea to merge once the checks pass; with no
// checks configured Gitea merges as soon as it has checked mergeability.
func TestPullRequestAutomergeOnGitea(t *testing.T) {
	g := testforge.StartGitea(t)
	r := giteaRepo(t, g, "gitops", 1)
	repo := prRepo(g, r)
	repo.PullRequest.Automerge = true
	w := newTestWriter(t, repo)
	res := commitPR(t, w, appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1"))
	if len(res.PRs) != 1 || res.PRs[0].Action != PROpened {
		t.Fatalf("%+v, want a pull request opened", res.PRs)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		pr := findPR(t, r.PullRequests(t), res.PRs[0].PR.Number)
		if pr.Merged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pull request not merged a minute after asking for automerge: %+v", pr)
		}
		time.Sleep(50 * time.Millisecond) // polling the forge's merge, with a deadline
	}
	if !strings.Contains(r.Show(t, "main", appFile(0)), "registry.example/app0:1.1.0") {
		t.Fatal("the merged change is not on main")
	}
}

// Item 1: image repositories nested in one another (team/api and
// team/api/worker, common on GHCR and GitLab) get a branch each; with the
// path's slashes kept in the branch name, git refuses the second branch
// (refs/heads/hoist/.../api is a file, so .../api/worker cannot be created).
func TestPullRequestNestedImageRepositories(t *testing.T) {
	g := testforge.StartGitea(t)
	r := g.NewRepo(t, "gitops", map[string]string{
		"apps/api.yaml":    deployment("api", "registry.example/team/api:1.0.0"),
		"apps/worker.yaml": deployment("worker", "registry.example/team/api/worker:1.0.0"),
	})
	w := newTestWriter(t, prRepo(g, r))
	rw := func(file, name, image, eventID string) bus.Rewrite {
		return bus.Rewrite{
			EventIDs: []string{eventID}, Repo: "gitops", Branch: "main", File: file,
			Resource: "apps:deployment/" + name, Container: "app", Image: image,
			Old: image + ":1.0.0", New: image + ":1.1.0", Tag: "1.1.0", PushedAt: time.Now(), ReceivedAt: time.Now(),
		}
	}
	res := commitPR(t, w, rw("apps/api.yaml", "api", "registry.example/team/api", "ev-1"),
		rw("apps/worker.yaml", "worker", "registry.example/team/api/worker", "ev-2"))
	if len(res.PRs) != 2 || res.PRs[0].Action != PROpened || res.PRs[1].Action != PROpened {
		t.Fatalf("%+v, want two pull requests opened", res.PRs)
	}
	if n := len(openPRs(r.PullRequests(t))); n != 2 {
		t.Fatalf("%d open pull requests, want 2", n)
	}
}

// Forge errors are retried like pushes, except a refused token (401, 403)
// or a repository the forge does not know (404): retrying cannot cure them,
// so the batch is handed back after one attempt instead of hammering the
// forge with a bad token. The token is in no error.
func TestPullRequestRefusedTokenIsNotRetried(t *testing.T) {
	srv := testgit.NewServer(t)
	r := srv.NewRepo(t, "gitops")
	seedApps(t, r, 1)
	var calls atomic.Int32
	forgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}`)
	}))
	t.Cleanup(forgeSrv.Close)
	// The git server's URL names no owner: the client is made for a GitHub one.
	fc, err := forge.New(forge.Config{Provider: "github", APIURL: forgeSrv.URL, Token: "ghp_bad-token", RepoURL: "https://github.com/team/gitops.git"})
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, Repo{URL: r.URL, PullRequest: &PullRequest{Client: fc}})
	_, err = w.commit(context.Background(), []bus.Rewrite{appRewrite("gitops", 0, "1.0.0", "1.1.0", "ev-1")}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("commit: %v, want the forge's 401", err)
	}
	if strings.Contains(err.Error(), "ghp_bad-token") {
		t.Fatalf("the error carries the token: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the forge was called %d times, want once", n)
	}
}
