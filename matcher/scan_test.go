package matcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/bus/bustest"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// scanHarness is a matcher scanning a real registry through a recording
// proxy, with an interval long enough that only the first scan runs by
// itself; tests run further scans with listRepo.
type scanHarness struct {
	*harness
	reg  *testregistry.Registry
	repo string // canonical repository through the proxy
}

func startScanning(t *testing.T, filter string, tags ...string) *scanHarness {
	t.Helper()
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	for _, tag := range tags {
		reg.PushImage(t, "team/app", tag)
	}
	repo := p.Host + "/team/app"
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": strings.Replace(releaseOf(repo, ""), "semver:~1.2", filter, 1)})
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()), registry.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h := startService(t, Config{
		Repos:    []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Verifier: client,
		Scan:     ScanConfig{Interval: time.Hour, WebhookGrace: true, Lister: client},
	})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	sh := &scanHarness{harness: h, reg: reg, repo: repo}
	testenv.Eventually(t, "the first scan", func() bool { return sh.scans("ok") >= 1 })
	return sh
}

func (h *scanHarness) scans(result string) float64 {
	host, _, _ := strings.Cut(h.repo, "/")
	return testutil.ToFloat64(h.svc.sm.scans.WithLabelValues(host, result))
}

func (h *scanHarness) pushes(outcome string) float64 {
	return testutil.ToFloat64(h.svc.m.pushes.WithLabelValues(outcome))
}

// rewriteCount is how many rewrites the stream holds.
func (h *scanHarness) rewriteCount(t *testing.T) uint64 {
	t.Helper()
	return h.streamMsgs(t, bus.RewriteStream)
}

func (h *scanHarness) webhook(t *testing.T, tag, digest string, at time.Time) bus.PushEvent {
	t.Helper()
	host, path, _ := strings.Cut(h.repo, "/")
	ev := bus.PushEvent{ID: "hook-" + tag, Registry: host, Repository: path, Tag: tag, Digest: digest, PushedAt: at, ReceivedAt: at}
	h.push(t, ev)
	return ev
}

// settled waits until every push was handled and n outcomes of kind were counted.
func (h *scanHarness) settled(t *testing.T, outcome string, n float64) {
	t.Helper()
	testenv.Eventually(t, outcome+" pushes", func() bool { return h.pushes(outcome) >= n && h.pendingPushes(t) == 0 })
}

// Item "events like webhooks" (dedupe): a tag a scan found first and whose
// webhook (with a digest, so another message id) comes later is decided
// once: the webhook is acknowledged without a decision.
func TestScanThenWebhookDecidedOnce(t *testing.T) {
	h := startScanning(t, "glob:*", "1.2.3")
	digest := h.reg.PushImage(t, "team/app", "1.2.4")
	res, err := h.svc.listRepo(context.Background(), h.repo, true)
	if err != nil || res.events != 1 {
		t.Fatalf("scan: %+v, %v", res, err)
	}
	h.settled(t, "rewrites", 1)
	h.webhook(t, "1.2.4", digest, time.Now().UTC())
	h.settled(t, "decided_before", 1)
	if n := h.rewriteCount(t); n != 1 {
		t.Errorf("%d rewrites stored for one tag, want 1", n)
	}
}

// Item "events like webhooks" (dedupe): a tag whose webhook was decided
// first is not turned into an event by a scan; and a scan event that was
// already on its way when the webhook recorded the tag is not decided.
func TestWebhookThenScanDecidedOnce(t *testing.T) {
	h := startScanning(t, "glob:*", "1.2.3")
	digest := h.reg.PushImage(t, "team/app", "1.2.4")
	h.webhook(t, "1.2.4", digest, time.Now().UTC())
	h.settled(t, "rewrites", 1)
	res, err := h.svc.listRepo(context.Background(), h.repo, true)
	if err != nil || res.events != 0 || res.newTags != 0 {
		t.Fatalf("scan after the webhook: %+v, %v", res, err)
	}

	// The scan recorded 1.2.5 and published its event, but a webhook for
	// it was handled before the event.
	digest = h.reg.PushImage(t, "team/app", "1.2.5")
	host, path, _ := strings.Cut(h.repo, "/")
	scanned := time.Now().UTC()
	if _, err := h.svc.times.Record(context.Background(), h.repo, "1.2.5", scanned); err != nil {
		t.Fatal(err)
	}
	h.webhook(t, "1.2.5", digest, time.Now().UTC())
	h.settled(t, "rewrites", 2)
	if err := h.svc.publishScanEvent(context.Background(), scanEvent(host, path, "1.2.5", scanned, false)); err != nil {
		t.Fatal(err)
	}
	h.settled(t, "decided_before", 1)
	if n := h.rewriteCount(t); n != 2 {
		t.Errorf("%d rewrites stored for two tags, want 2", n)
	}
}

// Item "events like webhooks": the first scan records the tags without
// acting for glob: sites (their push order is unknown); a later scan's new
// tag acts for them.
func TestScanFirstScanLeavesGlobSites(t *testing.T) {
	h := startScanning(t, "glob:*", "1.2.3", "1.2.4", "0.9")
	if n := h.rewriteCount(t); n != 0 {
		t.Fatalf("the first scan published %d rewrites for a glob: site", n)
	}
	if _, ok := h.svc.times.FirstSeen(context.Background(), h.repo, "0.9"); !ok {
		t.Error("the first scan did not record the first-seen time of 0.9")
	}
	h.reg.PushImage(t, "team/app", "1.3.0")
	if res, err := h.svc.listRepo(context.Background(), h.repo, true); err != nil || res.events != 1 {
		t.Fatalf("second scan: %+v, %v", res, err)
	}
	rws := h.rewrites(t, "a", "main", 1)
	if rws[0].Tag != "1.3.0" {
		t.Errorf("rewrite to %s, want 1.3.0", rws[0].Tag)
	}
}

// Item "registry manners": errors back off per repository, doubling up to
// the interval, never sooner than the registry's Retry-After.
func TestScanRetryDelay(t *testing.T) {
	c := ScanConfig{Interval: time.Hour}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute}
	for i, w := range want {
		if got := c.retryDelay(i+1, errors.New("x")); got != w {
			t.Errorf("failure %d: retry in %s, want %s", i+1, got, w)
		}
	}
	if got := c.retryDelay(20, nil); got != time.Hour {
		t.Errorf("many failures: %s, want the interval", got)
	}
	busy := &registry.Error{Class: registry.ErrTemporary, RetryAfter: 10 * time.Minute}
	if got := c.retryDelay(1, busy); got != 10*time.Minute {
		t.Errorf("after Retry-After 10m: %s", got)
	}
	if got := (ScanConfig{Interval: 2 * time.Second}).retryDelay(1, nil); got != time.Second {
		t.Errorf("short interval: %s", got)
	}
}

// Item "registry manners": a repository with 9,000 tags is listed page
// by page (the registry's n and Link), compared with the known tags as the
// pages arrive, and its first scan moves the semver: site to the highest.
func TestScanListsThousandsOfTags(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	reg.PushImage(t, "team/app", "1.2.3")
	var tags []string
	for i := range 9000 {
		tags = append(tags, fmt.Sprintf("1.%d.%d", 2+i/1000, i%1000))
	}
	reg.LinkTags(t, "team/app", "1.2.3", "team/app", tags)
	repo := p.Host + "/team/app"
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": strings.Replace(releaseOf(repo, ""), "semver:~1.2", "semver:>=1.2", 1)})
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()), registry.WithPageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	h := startService(t, Config{
		Repos:    []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Verifier: client,
		Scan:     ScanConfig{Interval: time.Hour, Lister: client},
	})
	rws := h.rewrites(t, "a", "main", 1)
	if rws[0].Tag != "1.10.999" {
		t.Errorf("the first scan moved the site to %s, want the highest tag 1.10.999", rws[0].Tag)
	}
	host := p.Host
	// The rewrite can come before the scan has ended: its counts are read
	// once it is counted.
	testenv.Eventually(t, "the scan counted", func() bool { return testutil.ToFloat64(h.svc.sm.scans.WithLabelValues(host, "ok")) >= 1 })
	if got := testutil.ToFloat64(h.svc.sm.tags.WithLabelValues(host)); got != 9000 {
		t.Errorf("tags listed: %v, want 9000", got)
	}
	if n := len(p.Requests("/tags/list")); n < 9 || n > 10 {
		t.Errorf("%d tag list requests for 9,000 tags in pages of 1,000", n)
	}
	if got := testutil.ToFloat64(h.svc.sm.requests.WithLabelValues(host, "200")); got < 9 {
		t.Errorf("pages counted: %v", got)
	}
	known := 0
	if err := h.svc.times.KnownTags(context.Background(), repo, func(string) { known++ }); err != nil || known != 9000 {
		t.Errorf("first-seen times recorded: %d (%v), want 9000", known, err)
	}
}

// Item "what is scanned": every repository of a host is listed within a
// round, one after the other, not one per look for due repositories (an
// hour's interval looks every 30 s: 300 repositories of one host would
// take two and a half hours).
func TestScanListsEveryRepositoryOfAHost(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	reg.PushImage(t, "base/app", "1.0.0")
	const n = 12
	files := map[string]string{}
	for i := range n {
		repo := fmt.Sprintf("team/r%02d", i)
		reg.LinkTags(t, "base/app", "1.0.0", repo, []string{"1.0.0", "1.0.1"})
		doc := strings.Replace(releaseOf(p.Host+"/"+repo, ""), "tag: 1.2.3", "tag: 1.0.0", 1)
		files[fmt.Sprintf("app%02d.yaml", i)] = strings.Replace(doc, "name: app", fmt.Sprintf("name: app-%d", i), 1)
	}
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", files)
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	h := startService(t, Config{
		Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Scan:  ScanConfig{Interval: time.Hour, Lister: client},
	})
	testenv.Eventually(t, "every repository listed", func() bool {
		return testutil.ToFloat64(h.svc.sm.scans.WithLabelValues(p.Host, "ok")) >= n
	})
}

// Item "webhook grace": a repository is listed once even while its
// webhooks arrive; the grace applies after that first scan. (Put off
// until webhooks stop, the first scan would take the tags pushed during
// the outage for tags that predate hoist, and leave glob: sites behind.)
func TestScanFirstScanDespiteWebhooks(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, nil)
	reg.PushImage(t, "team/app", "1.2.3")
	repo := p.Host + "/team/app"
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseOf(repo, "")})
	b := bustest.Start(t)
	st, err := bus.OpenScanStore(context.Background(), b.JS)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WebhookSeen(context.Background(), repo, time.Now()); err != nil {
		t.Fatal(err)
	}
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{
		Repos: []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Scan:  ScanConfig{Interval: time.Hour, WebhookGrace: true, Lister: client},
	}, b.JS, nil, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, "the first scan", func() bool { return testutil.ToFloat64(svc.sm.scans.WithLabelValues(p.Host, "ok")) >= 1 })
	rec, _, err := st.Record(context.Background(), repo)
	if err != nil || !rec.Baselined {
		t.Fatalf("record after the first scan: %+v %v", rec, err)
	}
}
