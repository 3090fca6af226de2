package matcher

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
	"github.com/hoist-gitops/hoist/notify"
)

// releaseOf is releaseYAML's HelmRelease with its image in repository repo
// (host/path) at tag 1.2.3, pinned to digest when one is given.
func releaseOf(repo, digest string) string {
	out := strings.Replace(releaseYAML, "127.0.0.1:5000/team/app", repo, 1)
	if digest != "" {
		out = strings.Replace(out, "tag: 1.2.3", "tag: 1.2.3@"+digest, 1)
	}
	return out
}

// verifyHarness is a matcher whose one repository uses an image of a real
// registry, reached through a recording proxy.
type verifyHarness struct {
	*harness
	reg    *testregistry.Registry
	proxy  *testregistry.Proxy
	repo   string // canonical repository through the proxy
	events *eventLog
}

// eventLog is a Notifier that keeps what it is told.
type eventLog struct {
	mu  sync.Mutex
	evs []notify.Event
}

func (l *eventLog) Notify(ev notify.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
}

// all is what the log was told so far, in order.
func (l *eventLog) all() []notify.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

func startVerified(t *testing.T, hook func(w http.ResponseWriter, r *http.Request) bool, rules []imagerules.Rule, hosts func(proxy string) []registry.Host, pinned bool) *verifyHarness {
	t.Helper()
	reg := testregistry.Start(t, testregistry.Options{})
	p := testregistry.NewProxy(t, reg.Host, hook)
	repo := p.Host + "/team/app"
	digest := ""
	if pinned {
		digest = reg.PushImage(t, "team/app", "1.2.3")
	}
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseOf(repo, digest)})
	var hs []registry.Host
	if hosts != nil {
		hs = hosts(p.Host)
	}
	client, err := registry.New(hs, registry.WithKeychain(authn.NewMultiKeychain()), registry.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := imagerules.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	events := &eventLog{}
	h := startService(t, Config{
		Repos:      []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Verifier:   client,
		ImageRules: compiled,
		Notifier:   events,
	})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	return &verifyHarness{harness: h, reg: reg, proxy: p, repo: repo, events: events}
}

func (v *verifyHarness) pushEvent(t *testing.T, id, tag, digest string) {
	t.Helper()
	host, path, _ := strings.Cut(v.repo, "/")
	now := time.Now().UTC()
	v.push(t, bus.PushEvent{ID: id, Registry: host, Repository: path, Tag: tag, Digest: digest, PushedAt: now, ReceivedAt: now})
}

func (v *verifyHarness) checks(result verdict) float64 {
	return testutil.ToFloat64(v.svc.m.registryChecks.WithLabelValues(string(result)))
}

// shortNotFound makes the not-found retries of a test quick, for the test's life.
func shortNotFound(t *testing.T, backOff ...time.Duration) {
	old := notFoundBackOff
	notFoundBackOff = backOff
	t.Cleanup(func() { notFoundBackOff = old })
}

// A pushed tag the registry does not have is not written: after asking
// again a few times, the push is acknowledged, counted as not_in_registry,
// and no rewrite is published.
func TestVerifyTagNotInRegistry(t *testing.T) {
	shortNotFound(t, 10*time.Millisecond, 10*time.Millisecond)
	v := startVerified(t, nil, nil, nil, false)
	v.pushEvent(t, "ev-ghost", "1.2.4", "sha256:"+strings.Repeat("a", 64))
	testenv.Eventually(t, "push acknowledged", func() bool { return v.pendingPushes(t) == 0 })
	if rws := v.rewrites(t, "a", "main", 0); len(rws) != 0 {
		t.Fatalf("rewrites for a tag that is not in the registry: %+v", rws)
	}
	if v.checks(verdictNotFound) != 1 || testutil.ToFloat64(v.svc.m.pushes.WithLabelValues("not_in_registry")) != 1 {
		t.Errorf("not_in_registry not counted: checks %v, pushes %v", v.checks(verdictNotFound),
			testutil.ToFloat64(v.svc.m.pushes.WithLabelValues("not_in_registry")))
	}
	if n := len(v.proxy.Requests("/manifests/")); n != 3 {
		t.Errorf("registry asked %d times, want 3: once and twice again", n)
	}
	// People are told of a push that named a tag the registry does not have.
	if evs := v.events.all(); len(evs) != 1 || evs[0].Kind != notify.KindRejected || evs[0].Rejected == nil ||
		evs[0].Rejected.EventID != "ev-ghost" || evs[0].Rejected.Tag != "1.2.4" {
		t.Errorf("notifications %+v, want one rejected for ev-ghost", evs)
	}
}

// The CNCF registry announces a push when the manifest is stored and links
// the tag right after: a tag not found at first is asked for again, and
// written once the registry has it.
func TestVerifyTagNotInRegistryYet(t *testing.T) {
	backOff := make([]time.Duration, 40)
	for i := range backOff {
		backOff[i] = 250 * time.Millisecond
	}
	shortNotFound(t, backOff...)
	v := startVerified(t, nil, nil, nil, false)
	v.pushEvent(t, "ev-early", "1.2.4", "") // a webhook without a digest, before the image
	testenv.Eventually(t, "the first not-found", func() bool { return len(v.proxy.Requests("/manifests/1.2.4")) >= 1 })
	want := v.reg.PushImage(t, "team/app", "1.2.4")
	rws := v.rewrites(t, "a", "main", 1)
	if rws[0].Tag != "1.2.4" || rws[0].Digest != want {
		t.Errorf("rewrite = %+v, want 1.2.4 with the registry's digest %s", rws[0], want)
	}
	if v.checks(verdictNotFound) != 0 {
		t.Errorf("taken as not in the registry while it was asked again")
	}
}

// A tag that exists is written; when the webhook's digest differs from
// the registry's (the tag moved since), the registry's is the one written.
func TestVerifyTagDigestFromRegistry(t *testing.T) {
	v := startVerified(t, nil, nil, nil, true)
	want := v.reg.PushImage(t, "team/app", "1.2.4")
	stale := "sha256:" + strings.Repeat("b", 64)
	v.pushEvent(t, "ev-moved", "1.2.4", stale)
	rws := v.rewrites(t, "a", "main", 1)
	if rws[0].Digest != want || !strings.HasSuffix(rws[0].New, "1.2.4@"+want) {
		t.Errorf("rewrite = %+v, want the registry's digest %s", rws[0], want)
	}
	if v.checks(verdictMoved) != 1 {
		t.Errorf("digest_replaced checks = %v, want 1", v.checks(verdictMoved))
	}
}

// A registry that fails (503) hands the push back; once the registry
// answers, the redelivered push is verified and written — never dropped,
// never written unverified.
func TestVerifyTagRegistryUnavailable(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	v := startVerified(t, func(w http.ResponseWriter, r *http.Request) bool {
		if failing.Load() && strings.Contains(r.URL.Path, "/manifests/") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}, nil, nil, false)
	d := v.reg.PushImage(t, "team/app", "1.2.4")
	v.pushEvent(t, "ev-503", "1.2.4", d)
	testenv.Eventually(t, "the 503 counted", func() bool { return v.checks(verdictUnavailable) >= 1 })
	if rws := v.rewrites(t, "a", "main", 0); len(rws) != 0 {
		t.Fatalf("written while the registry could not verify it: %+v", rws)
	}
	if v.pendingPushes(t) != 1 {
		t.Fatalf("the push is not kept for redelivery")
	}
	if evs := v.events.all(); len(evs) == 0 || evs[0].Kind != notify.KindFailure || evs[0].Failure == nil ||
		evs[0].Failure.Stage != "match" || len(evs[0].Failure.EventIDs) != 1 || evs[0].Failure.EventIDs[0] != "ev-503" {
		t.Errorf("notifications %+v, want a match failure for ev-503", evs)
	}
	failing.Store(false)
	rws := v.rewrites(t, "a", "main", 1)
	if rws[0].Tag != "1.2.4" || v.checks(verdictVerified) != 1 {
		t.Errorf("after recovery: %+v, verified %v", rws[0], v.checks(verdictVerified))
	}
}

// A registry that refuses hoist's credentials hands the push back as well,
// counted as unauthorized.
func TestVerifyTagUnauthorized(t *testing.T) {
	v := startVerified(t, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.WriteHeader(http.StatusForbidden)
			return true
		}
		return false
	}, nil, nil, false)
	v.pushEvent(t, "ev-403", "1.2.4", "sha256:"+strings.Repeat("c", 64))
	testenv.Eventually(t, "the refusal counted", func() bool { return v.checks(verdictRefused) >= 1 })
	if v.pendingPushes(t) != 1 {
		t.Fatalf("the push is not kept for redelivery")
	}
	if rws := v.rewrites(t, "a", "main", 0); len(rws) != 0 {
		t.Fatalf("written although the registry refused: %+v", rws)
	}
}

// verify: none trusts the webhook (no registry call, the webhook's digest
// is written), and a push that would change nothing never asks the registry.
func TestVerifyNoneAndNothingToWrite(t *testing.T) {
	v := startVerified(t, nil, []imagerules.Rule{{Match: "127.0.0.1:*/team/app", Verify: imagerules.VerifyNone}}, nil, false)
	claimed := "sha256:" + strings.Repeat("d", 64)
	v.pushEvent(t, "ev-none", "1.2.4", claimed)
	rws := v.rewrites(t, "a", "main", 1)
	if rws[0].Digest != claimed {
		t.Errorf("digest = %s, want the webhook's %s", rws[0].Digest, claimed)
	}

	w := startVerified(t, nil, nil, nil, false)
	w.pushEvent(t, "ev-old", "1.2.1", claimed) // older than 1.2.3: no rewrite
	testenv.Eventually(t, "push acknowledged", func() bool { return w.pendingPushes(t) == 0 })
	for _, p := range []*testregistry.Proxy{v.proxy, w.proxy} {
		if n := len(p.Requests("/manifests/")); n != 0 {
			t.Errorf("registry asked %d times, want none", n)
		}
	}
}
