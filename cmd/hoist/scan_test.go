package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// tagLists are the tag list requests the proxy saw for repo.
func tagLists(p *testregistry.Proxy, repo string) []testregistry.Seen {
	return p.Requests("/v2/" + repo + "/tags/list")
}

// release is an automated HelmRelease of image (repository:tag) with a
// filter, locked or not.
func release(name, image, filter string, locked bool) string {
	lock := ""
	if locked {
		lock = `fluxcd.io/locked: "true"`
	}
	return testenv.HelmRelease(name, image, filter, lock)
}

var tagLine = regexp.MustCompile(`(?m)^      tag: (\S+)$`)

// tagIn is the tag a release file in git holds now.
func tagIn(t *testing.T, repo *testgit.Repo, file string) string {
	t.Helper()
	m := tagLine.FindStringSubmatch(repo.Show(t, "main", file))
	if m == nil {
		return ""
	}
	return m[1]
}

// Items "what is scanned" and "events like webhooks": with no webhook at
// all, hoist lists the repositories of automated, unlocked sites (each
// once per interval however many sites use it, none whose images rule
// says scan: false). The first scan moves semver: sites to the highest
// tag and leaves glob: sites (push order unknown); tags pushed later are
// committed for every filter.
func TestScanFindsTagsWithoutWebhooks(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{}) // no notifications
	p := testregistry.NewProxy(t, reg.Host, nil)
	for _, it := range []struct{ repo, tag string }{
		{"team/app", "1.2.3"}, {"team/app", "1.2.4"}, {"team/web", "v1"}, {"team/web", "v2"},
		{"team/locked", "1.0"}, {"team/locked", "1.1"}, {"team/noscan", "1.0"}, {"team/noscan", "1.1"},
	} {
		reg.PushImage(t, it.repo, it.tag)
	}
	const interval = 2 * time.Second
	s := startServe(t, serveOpts{
		files: map[string]string{
			"apps/app.yaml":    release("app", p.Host+"/team/app:1.2.3", "semver:~1.2", false),
			"apps/web.yaml":    release("web", p.Host+"/team/web:v1", "glob:v*", false),
			"apps/web2.yaml":   release("web2", p.Host+"/team/web:v1", "glob:v*", false),
			"apps/locked.yaml": release("locked", p.Host+"/team/locked:1.0", "glob:*", true),
			"apps/noscan.yaml": release("noscan", p.Host+"/team/noscan:1.0", "semver:*", false),
		},
		images: fmt.Sprintf("\n  - {match: \"%s/team/noscan\", scan: false}", p.Host),
		extra:  fmt.Sprintf("scan: {interval: %s}\n", interval),
	})
	repo := s.repo
	okScans := fmt.Sprintf(`hoist_matcher_scans_total{host="%s",result="ok"}`, p.Host)

	testenv.Eventually(t, "the first scan's semver update", func() bool { return tagIn(t, repo, "apps/app.yaml") == "1.2.4" })
	testenv.Eventually(t, "the first scans of team/app and team/web", func() bool { return s.metric(okScans) >= 2 })
	if got := tagIn(t, repo, "apps/web.yaml"); got != "v1" {
		t.Fatalf("the first scan moved a glob: site to %s; tags that predate hoist have no push order", got)
	}

	reg.PushImage(t, "team/app", "1.2.5")
	reg.PushImage(t, "team/web", "v3")
	testenv.Eventually(t, "the new tags committed", func() bool {
		return tagIn(t, repo, "apps/app.yaml") == "1.2.5" && tagIn(t, repo, "apps/web.yaml") == "v3" && tagIn(t, repo, "apps/web2.yaml") == "v3"
	})
	if n := len(tagLists(p, "team/locked")); n != 0 {
		t.Errorf("team/locked (only a locked site) was listed %d times", n)
	}
	if n := len(tagLists(p, "team/noscan")); n != 0 {
		t.Errorf("team/noscan (scan: false) was listed %d times", n)
	}
	checkOncePerInterval(t, tagLists(p, "team/web"), interval)
	if !strings.Contains(s.logs.String(), `"message":"scan listed tags"`) {
		t.Error("no log line per scan")
	}
	if !strings.Contains(s.logs.String(), `"source":"scan"`) && !strings.Contains(s.logs.String(), `"event_id":"scan-`) {
		t.Error("the scan events are not told apart from webhooks in the log")
	}
}

// checkOncePerInterval fails when two listings of one repository came
// less than half an interval apart: each repository is listed once per
// interval (scans start at least an interval apart; the half allows for
// the time between a scan's start and its request).
func checkOncePerInterval(t *testing.T, lists []testregistry.Seen, interval time.Duration) {
	t.Helper()
	for i := 1; i < len(lists); i++ {
		if gap := lists[i].At.Sub(lists[i-1].At); gap < interval/2 {
			t.Errorf("listed twice within %s (interval %s): %v", gap, interval, lists)
		}
	}
}

// Item "tests with real parts": a webhook dropped on purpose (hoist was
// stopped while the tag was pushed, and nothing retried it) is recovered
// by the first scan after hoist is back.
func TestScanRecoversWebhookDroppedWhileDown(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	reg.PushImage(t, "team/web", "v1")
	o := serveOpts{
		files:         map[string]string{"apps/web.yaml": release("web", p.Host+"/team/web:v1", "glob:v*", false)},
		defaultImages: true,
		extra:         "scan: {interval: 2s}\n",
		dir:           t.TempDir(), // the restarted serve's too: its JetStream store survives
	}
	s := startServe(t, o)
	repo := s.repo
	okScans := fmt.Sprintf(`hoist_matcher_scans_total{host="%s",result="ok"}`, p.Host)
	testenv.Eventually(t, "the first scan", func() bool { return s.metric(okScans) >= 1 })

	reg.PushImage(t, "team/web", "v2")
	s.mustPush(t, p.Host+"/team/web:v2")
	testenv.Eventually(t, "v2 committed (webhook)", func() bool { return tagIn(t, repo, "apps/web.yaml") == "v2" })
	if err := s.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}

	reg.PushImage(t, "team/web", "v3") // its webhook is lost: hoist is down
	o.files, o.repo = nil, repo
	s = startServe(t, o)
	testenv.Eventually(t, "v3 committed (scan)", func() bool { return tagIn(t, repo, "apps/web.yaml") == "v3" })
	if !strings.Contains(s.logs.String(), `"message":"scan found a new tag"`) {
		t.Error("v3 was not found by a scan")
	}
}

// Item "webhook grace": a repository that sent a webhook within the
// interval is not listed, so with webhooks working the scan asks the
// registry nothing; a repository without webhooks is listed meanwhile,
// once per interval.
func TestScanSkipsRepositoriesWithWebhooks(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	reg.PushImage(t, "team/web", "v1")
	reg.PushImage(t, "team/app", "1.0.0")
	const interval = 3 * time.Second
	s := startServe(t, serveOpts{
		files: map[string]string{
			"apps/web.yaml": release("web", p.Host+"/team/web:v1", "glob:v*", false),
			"apps/app.yaml": release("app", p.Host+"/team/app:1.0.0", "semver:*", false),
		},
		// The webhooks announce tags that are not in the registry (and match no filter).
		images: fmt.Sprintf(`[{match: "%s/team/web", verify: none}]`, p.Host),
		extra:  fmt.Sprintf("scan: {interval: %s}\n", interval),
	})
	okScans := fmt.Sprintf(`hoist_matcher_scans_total{host="%s",result="ok"}`, p.Host)
	testenv.Eventually(t, "the first scans", func() bool { return s.metric(okScans) >= 2 })

	hook := 0
	send := func() {
		hook++
		s.mustPush(t, fmt.Sprintf("%s/team/web:hook-%d", p.Host, hook))
	}
	send()
	testenv.Eventually(t, "the webhook handled", func() bool { return strings.Contains(s.logs.String(), `"tag":"hook-1"`) })
	since := time.Now()
	before := len(tagLists(p, "team/app"))
	for len(tagLists(p, "team/app")) < before+3 { // three intervals, a webhook every third of one
		send()
		select {
		case <-time.After(interval / 3): // the webhooks' pace, not a synchronisation
		case <-t.Context().Done():
			return
		}
	}
	for _, l := range tagLists(p, "team/web") {
		if l.At.After(since) {
			t.Errorf("team/web was listed at %s although webhooks kept arriving", l.At)
		}
	}
	checkOncePerInterval(t, tagLists(p, "team/app"), interval)
}

// Item "registry manners": a registry answering 429 with Retry-After is
// waited for, and the listing then goes on.
func TestScanWaitsForRetryAfter(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.2.3")
	reg.PushImage(t, "team/app", "1.2.4")
	var once sync.Once
	p := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		answered := false
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			once.Do(func() {
				w.Header().Set("Retry-After", "2")
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
				answered = true
			})
		}
		return answered
	})
	s := startServe(t, serveOpts{
		files:         map[string]string{"apps/app.yaml": release("app", p.Host+"/team/app:1.2.3", "semver:~1.2", false)},
		defaultImages: true,
		extra:         "scan: {interval: 1m}\n",
	})
	testenv.Eventually(t, "1.2.4 committed", func() bool { return tagIn(t, s.repo, "apps/app.yaml") == "1.2.4" })
	lists := tagLists(p, "team/app")
	if len(lists) < 2 {
		t.Fatalf("tag lists: %v", lists)
	}
	if gap := lists[1].At.Sub(lists[0].At); gap < 2*time.Second {
		t.Errorf("asked again %s after a 429 with Retry-After: 2", gap)
	}
}

// Item "registry manners": a registry that does not answer holds up no
// other: while its listing hangs, another host's repository is listed
// every interval.
func TestScanHangingRegistrySlowsNoOther(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "team/app", "1.0.0")
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	bad := testregistry.NewProxy(t, reg.Host, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/tags/list") {
			return false
		}
		select { // never answers while the test runs
		case <-hang:
		case <-r.Context().Done():
		}
		return true
	})
	good := testregistry.NewProxy(t, reg.Host, nil)
	startServe(t, serveOpts{
		files: map[string]string{
			"apps/bad.yaml":  release("bad", bad.Host+"/team/app:1.0.0", "semver:*", false),
			"apps/good.yaml": release("good", good.Host+"/team/app:1.0.0", "semver:*", false),
		},
		defaultImages: true,
		extra:         "scan: {interval: 1s}\n",
	})
	testenv.Eventually(t, "the hanging listing", func() bool { return len(tagLists(bad, "team/app")) >= 1 })
	testenv.Eventually(t, "three listings of the other host", func() bool { return len(tagLists(good, "team/app")) >= 3 })
	if n := len(tagLists(bad, "team/app")); n != 1 {
		t.Errorf("the hanging registry was asked %d times; its listing should still be waiting", n)
	}
}
