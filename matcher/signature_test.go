package matcher

import (
	"context"
	"errors"
	"strings"
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
)

// countingVerifier counts the signature checks that reach the registry.
type countingVerifier struct {
	*registry.Client
	calls atomic.Int32
}

func (c *countingVerifier) VerifySignature(ctx context.Context, repo, digest string, rule registry.SignatureRule) error {
	c.calls.Add(1)
	return c.Client.VerifySignature(ctx, repo, digest, rule)
}

// A signature verdict is kept per digest: a signed digest (or one whose
// signature is bad) is verified once; a missing signature is asked for
// again, since it may arrive.
func TestSignatureVerdictCachedPerDigest(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	key := testregistry.NewCosignKey(t)
	signed := reg.PushImage(t, "team/app", "1.0.0")
	reg.Sign(t, key, "team/app", signed, false)
	unsigned := reg.PushImage(t, "team/app", "1.0.1")
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()), registry.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v := &countingVerifier{Client: client}
	var c sigCache
	rule := registry.SignatureRule{Key: key.Pub}
	repo := reg.Host + "/team/app"
	for range 3 {
		if err := c.check(context.Background(), v, repo, signed, rule); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.calls.Load(); n != 1 {
		t.Fatalf("a signed digest checked 3 times reached the registry %d times, want 1", n)
	}
	for range 2 {
		if err := c.check(context.Background(), v, repo, unsigned, rule); !errors.Is(err, registry.ErrUnsigned) {
			t.Fatalf("unsigned: %v", err)
		}
	}
	if n := v.calls.Load(); n != 3 {
		t.Fatalf("an unsigned digest checked twice: %d registry checks in all, want 3", n)
	}
}

// A push handed back for want of a signature is decided as soon as the
// signature's own push (its cosign tag) arrives, not at its next retry:
// here the retry is an hour away.
func TestSignatureArrivalDecidesHeldPush(t *testing.T) {
	old := signatureRetry
	signatureRetry = func(uint64) time.Duration { return time.Hour }
	t.Cleanup(func() { signatureRetry = old })
	reg := testregistry.Start(t, testregistry.Options{})
	key := testregistry.NewCosignKey(t)
	srv := testgit.NewServer(t)
	a := srv.NewRepo(t, "a")
	repo := reg.Host + "/team/app"
	a.SeedFiles(t, "main", map[string]string{"app.yaml": releaseOf(repo, "")})
	client, err := registry.New(nil, registry.WithKeychain(authn.NewMultiKeychain()), registry.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := imagerules.Compile([]imagerules.Rule{{Match: "**", Signature: imagerules.Signature{Key: key.Pub}}})
	if err != nil {
		t.Fatal(err)
	}
	h := startService(t, Config{
		Repos:    []Repo{{Name: "a", URL: a.URL, Branch: "main", Paths: []string{"."}}},
		Verifier: client, Signatures: client, ImageRules: rules,
	})
	testenv.Eventually(t, "service ready", h.svc.Ready)
	digest := reg.PushImage(t, "team/app", "1.2.4")
	now := time.Now().UTC()
	host, path, _ := strings.Cut(repo, "/")
	h.push(t, bus.PushEvent{ID: "ev-image", Registry: host, Repository: path, Tag: "1.2.4", Digest: digest, PushedAt: now, ReceivedAt: now})
	testenv.Eventually(t, "the push handed back for its signature", func() bool {
		return testutil.ToFloat64(h.svc.m.registryChecks.WithLabelValues(string(verdictUnsignedWait))) == 1
	})

	reg.Sign(t, key, "team/app", digest, true)
	sigTag := strings.Replace(digest, ":", "-", 1) + ".sig"
	h.push(t, bus.PushEvent{ID: "ev-signature", Registry: host, Repository: path, Tag: sigTag, Digest: reg.Digest(t, "team/app", sigTag), PushedAt: now, ReceivedAt: now})
	rws := h.rewrites(t, "a", "main", 1)
	if rws[0].Tag != "1.2.4" || rws[0].Digest != digest || rws[0].EventIDs[0] != "ev-image" {
		t.Fatalf("rewrite %+v, want 1.2.4@%s of ev-image", rws[0], digest)
	}
}
