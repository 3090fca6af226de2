package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testgit"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// verifyBenchN is how many pushes each mode of TestBenchReportVerify times,
// after verifyBenchWarmup untimed ones.
const (
	verifyBenchN      = 40
	verifyBenchWarmup = 3
)

// TestBenchReportVerify measures what asking the registry costs a push: the
// push → commit latency (window 0) of hoist serve with `verify: tag` (the
// default) next to one with `verify: none`, on the same kind of repository,
// against the same CNCF registry on 127.0.0.1, in one run. Each tag is pushed
// to the registry first (not timed), then announced to both, in alternating
// order, so both see the same machine at the same moments.
func TestBenchReportVerify(t *testing.T) {
	report := testenv.BenchReport(t)
	reg := testregistry.Start(t, testregistry.Options{})
	srv := testgit.NewServer(t)
	manifest := release("app", reg.Host+"/bench/app:t0000", automated+`    filter.fluxcd.io/chart-image: glob:t*`)
	start := func(name string, verify bool) *pipeline {
		repo := srv.NewRepo(t, name)
		repo.SeedFiles(t, "main", map[string]string{"apps/app.yaml": manifest})
		return startPipeline(t, pipelineConfig{repo: repo, window: "0s", verify: verify})
	}
	verified, trusted := start("verified", true), start("trusted", false)

	var lat [2][]time.Duration // 0: verify tag, 1: verify none
	for i := 1; i <= verifyBenchWarmup+verifyBenchN; i++ {
		tag := fmt.Sprintf("t%04d", i)
		digest := reg.PushImage(t, "bench/app", tag)
		image := reg.Host + "/bench/app:" + tag
		order := []int{0, 1}
		if i%2 == 0 {
			order = []int{1, 0}
		}
		for _, mode := range order {
			p := []*pipeline{verified, trusted}[mode]
			began := time.Now()
			ids := p.postGeneric(image, digest, time.Time{})
			if len(ids) != 1 {
				t.Fatalf("push %s stored %v", image, ids)
			}
			p.waitEvent(ids[0])
			if i > verifyBenchWarmup {
				lat[mode] = append(lat[mode], time.Since(began))
			}
		}
	}
	for _, p := range []*pipeline{verified, trusted} {
		if got := p.file("apps/app.yaml"); !strings.Contains(got, fmt.Sprintf("bench/app:t%04d", verifyBenchWarmup+verifyBenchN)) {
			t.Fatalf("not at the last tag:\n%s", got)
		}
	}
	v50, n50 := percentile(lat[0], .5), percentile(lat[1], .5)
	v90, n90 := percentile(lat[0], .9), percentile(lat[1], .9)
	ratio := float64(v50) / float64(n50)
	met := "met"
	if ratio > 1.3 {
		met = "**not met**"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	md := fmt.Sprintf(`## verify: push to commit with and without asking the registry

Machine: %s; load average %s when measured.
Two hoist serve processes (the built binary, embedded NATS, window 0), each on its own one-release
repository served by git http-backend on 127.0.0.1, and one CNCF registry on 127.0.0.1. Each tag is
pushed to the registry with crane first (not timed), then announced by a generic webhook carrying
its digest to both processes, in alternating order; latency is from sending the webhook to the
committer's head announcement. %d pushes each after %d untimed.

| measurement | verify: tag (default) | verify: none | tag / none | target |
|---|---|---|---|---|
| push → commit, p50 | %s | %s | %.2f | ≤ 1.3: %s |
| push → commit, p90 | %s | %s | %.2f | |

Verification adds one manifest HEAD to a push that changes a file (cached per repository, tag and
digest), the registry's answer time on this machine; a remote registry adds its round trip.
`, benchmd.Machine(), strings.Join(strings.Fields(string(load))[:3], " "), verifyBenchN, verifyBenchWarmup,
		ms(v50), ms(n50), ratio, met, ms(v90), ms(n90), float64(v90)/float64(n90))
	t.Log("\n" + md)
	if err := benchmd.Update(report, "verify", md); err != nil {
		t.Fatal(err)
	}
}
