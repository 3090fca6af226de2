package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/benchmd"
	"github.com/hoist-gitops/hoist/internal/testenv"
	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// TestBenchReportSignature measures what checking a pushed digest's cosign
// signature costs hoist (registry round trips and sigstore-go's
// verification), against the CNCF registry on 127.0.0.1, and writes the
// "signature" section of BENCHMARKS.md. The matcher caches a verdict per
// digest, so this is paid once per pushed digest.
func TestBenchReportSignature(t *testing.T) {
	path := testenv.BenchReport(t)
	const rounds = 100
	reg := testregistry.Start(t, testregistry.Options{})
	key := testregistry.NewCosignKey(t)
	legacy := reg.PushImage(t, "bench/app", "legacy")
	reg.Sign(t, key, "bench/app", legacy, true)
	bundled := reg.PushImage(t, "bench/app", "bundle")
	reg.Sign(t, key, "bench/app", bundled, false)
	unsigned := reg.PushImage(t, "bench/app", "unsigned")
	c := newClient(t, []Host{{Host: reg.Host, RateLimit: 1e9}})
	ctx := context.Background()
	repo := reg.Host + "/bench/app"
	rule := SignatureRule{Key: key.Pub}
	tag := func(digest string) {
		if _, err := c.VerifyTag(ctx, repo, "legacy", digest); err != nil {
			t.Fatal(err)
		}
	}
	check := func(digest string, want error) func(int) {
		return func(int) {
			if err := c.VerifySignature(ctx, repo, digest, rule); want == nil && err != nil || want != nil && !errors.Is(err, want) {
				t.Fatalf("VerifySignature: %v, want %v", err, want)
			}
		}
	}
	check(legacy, nil)(0) // warm-up: the API probe
	tagWall, tagCPU := timed(rounds, func(i int) { tag(fmt.Sprintf("sha256:%064x", i)) })
	legacyWall, legacyCPU := timed(rounds, check(legacy, nil))
	bundleWall, bundleCPU := timed(rounds, check(bundled, nil))
	unsignedWall, unsignedCPU := timed(rounds, check(unsigned, ErrUnsigned))

	var b strings.Builder
	fmt.Fprintf(&b, "## signature: what checking a cosign signature costs\n\n")
	fmt.Fprintf(&b, "Machine: %s. The CNCF registry runs on 127.0.0.1 in its own process; signatures made by\n", benchmd.Machine())
	fmt.Fprintf(&b, "the cosign CLI with a key; CPU is hoist's process only (mean per call), wall time the median\n")
	fmt.Fprintf(&b, "of %d calls. A remote registry adds its round trip to each request.\n\n", rounds)
	fmt.Fprintf(&b, "| measurement | hoist: wall (CPU) |\n|---|---|\n")
	fmt.Fprintf(&b, "| verify a tag (`verify: tag`, no signature rule), for comparison: one manifest HEAD | %s (%s) |\n", tagWall, tagCPU)
	fmt.Fprintf(&b, "| legacy `.sig` signature (manifest, payload blob, ECDSA check) | %s (%s) |\n", legacyWall, legacyCPU)
	fmt.Fprintf(&b, "| Sigstore bundle referrer (`.sig` miss, referrers, manifest, bundle blob, sigstore-go) | %s (%s) |\n", bundleWall, bundleCPU)
	fmt.Fprintf(&b, "| no signature (both schemes missed) | %s (%s) |\n", unsignedWall, unsignedCPU)
	fmt.Fprintf(&b, "\nThe matcher checks a signature only for a push that would change a file, and keeps a verdict\n")
	fmt.Fprintf(&b, "(valid or not) per (repository, digest, rule) for 10 minutes: a digest is verified once however\n")
	fmt.Fprintf(&b, "many sites, tags or redeliveries use it. A missing signature is asked for again at each retry.\n")
	t.Log("\n" + b.String())
	if err := benchmd.Update(path, "signature", b.String()); err != nil {
		t.Fatal(err)
	}
}
