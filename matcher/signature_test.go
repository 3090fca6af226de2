package matcher

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hoist-gitops/hoist/internal/registry"
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
