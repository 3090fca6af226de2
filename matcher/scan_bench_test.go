package matcher

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/bus"
	"github.com/hoist-gitops/hoist/internal/imagerules"
	"github.com/hoist-gitops/hoist/internal/registry"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// The scan benchmark's inputs: automated sites, the image repositories
// they use, and the tags each repository has.
const (
	benchScanSites = 1000
	benchScanRepos = 300
	benchScanTags  = 1000
)

// TestBenchReportScan measures what scanning costs (make bench): the
// registry requests to list 300 repositories of 1,000 tags each, used by
// 1,000 automated sites, against what a poller that reads each tag's
// metadata needs for the same tags; the time of a first scan (recording
// 300,000 first-seen times) and of a steady-state round; and the
// matcher's heap with those tags recorded. NATS runs as its own process,
// so the heap is the matcher's (and the test's registry client's).
func TestBenchReportScan(t *testing.T) {
	path := testenv.BenchReport(t)
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushImage(t, "base/app", "1.0.0")
	tags := make([]string, benchScanTags)
	for i := range tags {
		tags[i] = fmt.Sprintf("1.0.%d", i)
	}
	for r := range benchScanRepos {
		reg.LinkTags(t, "base/app", "1.0.0", fmt.Sprintf("team/r%03d", r), tags)
	}
	p := testregistry.NewProxy(t, reg.Host, nil)
	files := map[string]string{}
	for i := range benchScanSites {
		doc := strings.Replace(releaseOf(fmt.Sprintf("%s/team/r%03d", p.Host, i%benchScanRepos), ""), "name: app", fmt.Sprintf("name: app-%d", i), 1)
		doc = strings.Replace(strings.Replace(doc, "tag: 1.2.3", "tag: 1.0.0", 1), "semver:~1.2", "semver:~1.0", 1)
		files[fmt.Sprintf("apps/%02d.yaml", i/10)] += "---\n" + doc
	}
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	a.SeedFiles(t, "main", files)

	conn := startNATSProcess(t)
	client, err := registry.New([]registry.Host{{Host: p.Host, RateLimit: 1000}}, registry.WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := imagerules.Compile([]imagerules.Rule{{Match: "**", Verify: imagerules.VerifyNone, Scan: true}})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	svc, err := New(Config{
		Repos:      []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		ImageRules: rules,
		Scan:       ScanConfig{Interval: time.Hour, WebhookGrace: true, Lister: client},
	}, conn.JS, prometheus.NewRegistry(), zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ok := func() float64 { return testutil.ToFloat64(svc.sm.scans.WithLabelValues(p.Host, "ok")) }
	deadline := time.Now().Add(30 * time.Minute)
	for ok() < benchScanRepos {
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d repositories scanned", ok(), benchScanRepos)
		}
		time.Sleep(100 * time.Millisecond) // polling a counter with a deadline
	}
	first := time.Since(start)
	firstReqs := len(p.Requests("/tags/list"))
	events := testutil.ToFloat64(svc.sm.events.WithLabelValues(p.Host))

	// A steady-state round: every tag known, nothing new.
	start = time.Now()
	for _, repo := range svc.scanTargets() {
		res, err := svc.listRepo(context.Background(), repo, true)
		if err != nil || res.newTags != 0 {
			t.Fatalf("steady-state scan of %s: %+v %v", repo, res, err)
		}
	}
	steady := time.Since(start)
	steadyReqs := len(p.Requests("/tags/list")) - firstReqs

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)

	pagesPerRepo := float64(steadyReqs) / benchScanRepos
	tagsTotal := benchScanRepos * benchScanTags
	var b strings.Builder
	fmt.Fprintf(&b, "## scan: registry requests and matcher memory\n\n")
	fmt.Fprintf(&b, "Measured on %s: %d automated sites (`semver:~1.0`) over %d image repositories of %d tags each\n",
		benchmd.Machine(), benchScanSites, benchScanRepos, benchScanTags)
	fmt.Fprintf(&b, "(%d tags), the CNCF registry behind a recording proxy, NATS as its own process. `go test -run TestBenchReportScan ./matcher`.\n\n", tagsTotal)
	fmt.Fprintf(&b, "| | requests per round | per hour at `scan.interval: 1h` | at `15m` |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| hoist, no webhooks (measured: tag list pages of 1,000) | %d | %d | %d |\n", steadyReqs, steadyReqs, 4*steadyReqs)
	fmt.Fprintf(&b, "| hoist, every repository sending webhooks (`webhookGrace`) | 0 | 0 | 0 |\n")
	fmt.Fprintf(&b, "| a poller reading each tag's manifest (computed: the same lists + 1 manifest request per tag) | %d | %d | %d |\n",
		steadyReqs+tagsTotal, steadyReqs+tagsTotal, 4*(steadyReqs+tagsTotal))
	fmt.Fprintf(&b, "| the same, also reading each image's config blob for its creation time (computed) | %d | %d | %d |\n\n",
		steadyReqs+2*tagsTotal, steadyReqs+2*tagsTotal, 4*(steadyReqs+2*tagsTotal))
	fmt.Fprintf(&b, "A repository of 1,000 tags takes %.0f requests: the registry answers a full page of `n=1000` with a `Link`\n", pagesPerRepo)
	fmt.Fprintf(&b, "to a next page, which is empty (9,000 tags: 10 requests). Token requests of registries that use bearer tokens\n")
	fmt.Fprintf(&b, "(up to one per listing) come on top for both kinds; the test registry has none. On Docker Hub a manifest `GET` is a pull.\n\n")
	fmt.Fprintf(&b, "| | time | notes |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| first scan of all %d repositories | %s | from start, indexing included: %d first-seen times recorded, %.0f events (the highest `semver:~1.0` tag, once per repository) |\n",
		benchScanRepos, first.Round(time.Millisecond), tagsTotal, events)
	fmt.Fprintf(&b, "| steady-state round (all tags known) | %s | one host, one listing at a time; %s per repository (known tags read from NATS, then the pages) |\n\n",
		steady.Round(time.Millisecond), (steady / benchScanRepos).Round(time.Microsecond))
	fmt.Fprintf(&b, "Matcher heap growth with the %d sites indexed and %d tags recorded, after GC: **%.1f MiB**\n", benchScanSites, tagsTotal, heap/(1<<20))
	fmt.Fprintf(&b, "(the tags live in NATS; the matcher keeps at most %d first-seen times cached, and one repository's known tags while it lists it).\n", 100000)
	if err := benchmd.Update(path, "scan", b.String()); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
}

// startNATSProcess runs nats-server with JetStream on 127.0.0.1 as its own
// process until the test ends, and connects to it with hoist's streams and
// buckets in place.
func startNATSProcess(t *testing.T) *bus.Conn {
	t.Helper()
	addr := testenv.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(testenv.Tool(t, "nats-server"), "-a", host, "-p", port, "-js", "-sd", filepath.Join(t.TempDir(), "js"))
	ready := func() bool { return testenv.Dials(addr) }
	if _, err := testenv.StartProcess(t, "nats-server", cmd, filepath.Join(t.TempDir(), "nats.log"), ready, testenv.WaitLimit); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := bus.Connect(ctx, bus.Options{URL: "nats://" + addr, Name: t.Name(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}
