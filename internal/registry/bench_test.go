package registry

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// cpuTime is the CPU time (user + system) this process has used: the
// registry runs in its own process, so this is hoist's side of a call.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// timed runs f n times and returns the median wall time of one run and the
// mean CPU time of one run.
func timed(n int, f func(i int)) (wall, cpu time.Duration) {
	walls := make([]time.Duration, n)
	startCPU := cpuTime()
	for i := range n {
		start := time.Now()
		f(i)
		walls[i] = time.Since(start)
	}
	return round(medianDuration(walls)), round((cpuTime() - startCPU) / time.Duration(n))
}

// round keeps three significant digits or so of a duration, for the table.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// TestBenchReportRegistry measures what verifying a pushed tag costs hoist
// against the CNCF registry on 127.0.0.1, next to a bare net/http HEAD of
// the same manifest, and writes the "registry" section of BENCHMARKS.md.
func TestBenchReportRegistry(t *testing.T) {
	path := testenv.BenchReport(t)
	const rounds, repos, tags = 300, 100, 300
	reg := testregistry.Start(t, testregistry.Options{})
	digest := reg.PushImage(t, "bench/app", "1.0.0")
	for i := range repos {
		reg.Tag(t, "bench/app", "1.0.0", fmt.Sprintf("t%03d", i))
	}
	for i := range repos {
		reg.Crane(t, "copy", reg.Ref("bench/app", "1.0.0"), reg.Ref(fmt.Sprintf("bench/repo%03d", i), "1.0.0"))
	}
	for i := repos; i < tags; i++ {
		reg.Tag(t, "bench/app", "1.0.0", fmt.Sprintf("t%03d", i))
	}
	ctx := context.Background()
	// The client's own cost, with the host's rate limit out of the way; the
	// limit's effect is measured on its own below.
	unlimited := []Host{{Host: reg.Host, RateLimit: 1e9}}
	c := newClient(t, unlimited)
	repo := reg.Host + "/bench/app"
	if d, err := c.Digest(ctx, repo, "1.0.0"); err != nil || d != digest {
		t.Fatalf("warm-up: %q, %v", d, err)
	}

	// Each round claims a digest of its own, so no answer comes from the cache.
	headWall, headCPU := timed(rounds, func(i int) {
		if _, err := c.VerifyTag(ctx, repo, "1.0.0", fmt.Sprintf("sha256:%064x", i)); err != nil {
			t.Fatal(err)
		}
	})
	bare := &http.Client{Transport: http.DefaultTransport}
	bareWall, bareCPU := timed(rounds, func(int) {
		req, _ := http.NewRequest(http.MethodHead, "http://"+reg.Host+"/v2/bench/app/manifests/1.0.0", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json")
		resp, err := bare.Do(req)
		if err != nil || resp.Header.Get("Docker-Content-Digest") != digest {
			t.Fatalf("bare HEAD: %v", err)
		}
		resp.Body.Close()
	})
	firstWall, firstCPU := timed(repos, func(i int) {
		if _, err := c.Digest(ctx, fmt.Sprintf("%s/bench/repo%03d", reg.Host, i), "1.0.0"); err != nil {
			t.Fatal(err)
		}
	})
	limited := newClient(t, nil)
	if _, err := limited.Digest(ctx, repo, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	limitedWall, _ := timed(3*DefaultRateLimit, func(i int) {
		if _, err := limited.VerifyTag(ctx, repo, "1.0.0", fmt.Sprintf("sha256:%064x", rounds+i)); err != nil {
			t.Fatal(err)
		}
	})
	cachedWall, cachedCPU := timed(100*rounds, func(int) {
		if _, err := c.VerifyTag(ctx, repo, "1.0.0", digest); err != nil {
			t.Fatal(err)
		}
	})
	pages, n := 0, 0
	listWall, listCPU := timed(9, func(int) {
		pages, n = 0, 0
		err := newClient(t, unlimited, WithPageSize(100)).Tags(ctx, repo, func(page []string) error {
			pages++
			n += len(page)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	if n != tags+1 {
		t.Fatalf("listed %d tags, want %d", n, tags+1)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## registry: what verifying a pushed tag costs\n\n")
	fmt.Fprintf(&b, "Machine: %s. The CNCF registry runs on 127.0.0.1 in its own process; CPU is hoist's\n", benchmd.Machine())
	fmt.Fprintf(&b, "process only (user + system, mean per call), wall time the median of the calls. A remote\n")
	fmt.Fprintf(&b, "registry adds its network round trip to every row but the cached one.\n\n")
	fmt.Fprintf(&b, "| measurement | hoist: wall (CPU) | baseline: bare `net/http` HEAD, wall (CPU) | hoist / baseline |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| verify a tag (`VerifyTag`: a manifest HEAD, rate limit out of the way; %d calls) | %s (%s) | %s (%s) | %.2f |\n",
		rounds, headWall, headCPU, bareWall, bareCPU, float64(headWall)/float64(bareWall))
	fmt.Fprintf(&b, "| first lookup in a repository (API probe, then HEAD; %d repositories) | %s (%s) | | |\n", repos, firstWall, firstCPU)
	fmt.Fprintf(&b, "| the same, one call after another under the default rate limit (%d per second per host, burst %d) | %s | | |\n",
		DefaultRateLimit, DefaultRateLimit, limitedWall)
	fmt.Fprintf(&b, "| verify the same push again (answer from the cache; %d calls) | %s (%s) | | |\n", 100*rounds, cachedWall, cachedCPU)
	fmt.Fprintf(&b, "| list %d tags in pages of 100 (`Tags`, %d pages, new client each time) | %s (%s) | | |\n", n, pages, listWall, listCPU)
	fmt.Fprintf(&b, "\nThe matcher verifies only pushes that would change a file, once per (repository, tag, digest).\n")
	fmt.Fprintf(&b, "Beyond its burst a host's rate limit spaces requests evenly, so a burst of pushes to one registry\n")
	fmt.Fprintf(&b, "is verified at `registries[].rateLimit` per second (a first lookup in a repository costs two or three requests).\n")
	t.Log("\n" + b.String())
	if err := benchmd.Update(path, "registry", b.String()); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkVerifyTagCached is the cost of a push verified before (a
// redelivery or a duplicate webhook).
func BenchmarkVerifyTagCached(b *testing.B) {
	reg := testregistry.Start(b, testregistry.Options{})
	digest := reg.PushImage(b, "bench/app", "1.0.0")
	c, err := New(nil, noKeychain)
	if err != nil {
		b.Fatal(err)
	}
	repo := reg.Host + "/bench/app"
	if _, err := c.VerifyTag(context.Background(), repo, "1.0.0", digest); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.VerifyTag(context.Background(), repo, "1.0.0", digest); err != nil {
			b.Fatal(err)
		}
	}
}
