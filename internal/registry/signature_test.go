package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// Signatures made by the real cosign CLI verify in both storage schemes
// (the legacy .sig tag and a Sigstore bundle referrer); an unsigned image
// is ErrUnsigned, an image signed with another key ErrBadSignature.
func TestVerifySignatureCosignSchemes(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	key, other := testregistry.NewCosignKey(t), testregistry.NewCosignKey(t)
	legacy := reg.PushImage(t, "team/app", "legacy")
	reg.Sign(t, key, "team/app", legacy, true)
	bundled := reg.PushImage(t, "team/app", "bundle")
	reg.Sign(t, key, "team/app", bundled, false)
	unsigned := reg.PushImage(t, "team/app", "unsigned")
	otherKey := reg.PushImage(t, "team/app", "other")
	reg.Sign(t, other, "team/app", otherKey, false)
	otherLegacy := reg.PushImage(t, "team/app", "other-legacy")
	reg.Sign(t, other, "team/app", otherLegacy, true)

	c, err := New(nil, WithKeychain(authn.NewMultiKeychain()), WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rule := SignatureRule{Key: key.Pub}
	repo := reg.Host + "/team/app"
	for _, tc := range []struct {
		name, digest string
		want         error
	}{
		{"legacy .sig tag", legacy, nil},
		{"bundle referrer", bundled, nil},
		{"unsigned", unsigned, ErrUnsigned},
		{"bundle by another key", otherKey, ErrBadSignature},
		{"legacy by another key", otherLegacy, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.VerifySignature(context.Background(), repo, tc.digest, rule)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("VerifySignature: %v, want %v", err, tc.want)
			}
		})
	}
}
