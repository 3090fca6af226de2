package registry

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// The outcomes of a signature check that are not registry failures; test
// with errors.Is.
var (
	// ErrUnsigned: the registry holds no signature for the digest in
	// either cosign scheme (yet: CI pipelines sign after they push).
	ErrUnsigned = errors.New("no signature in the registry")
	// ErrBadSignature: signatures exist but none verifies under the rule.
	ErrBadSignature = errors.New("no signature verifies")
)

// bundleArtifactType is the artifact type of a Sigstore bundle stored as
// an OCI referrer of the image (cosign v3).
const bundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// legacySigAnnotation holds the base64 signature of a cosign v2 signature
// layer, whose blob is the signed simple-signing payload.
const legacySigAnnotation = "dev.cosignproject.cosign/signature"

// SignatureRule is how an image's signatures are verified: with a public
// key, or keyless by a Fulcio certificate identity.
type SignatureRule struct {
	// Key is a PEM public key file; read at each check, so a rotated key is picked up.
	Key string
	// Issuer is the OIDC issuer of a keyless signer.
	Issuer string
	// Identity is a regular expression the keyless signer's identity (the
	// certificate's subject alternative name) must match.
	Identity string
	// TrustedRootFile is a Sigstore trusted root JSON file (keyless).
	TrustedRootFile string
}

// String names the rule for logs and cache keys (no secret: a public key
// file name or an identity).
func (r SignatureRule) String() string {
	if r.Key != "" {
		return "key " + r.Key
	}
	return "keyless " + r.Issuer + " " + r.Identity + " " + r.TrustedRootFile
}

// VerifySignature checks that the image repo@digest has a cosign signature
// that verifies under rule, in either storage scheme: the legacy
// sha256-<hex>.sig tag (cosign v2, key-signed simple-signing payloads) or a
// Sigstore bundle attached as an OCI referrer (cosign v3; the registry's
// referrers API, or the sha256-<hex> referrers tag where it has none). nil
// means a signature verifies; ErrUnsigned, ErrBadSignature (the error says
// why each signature failed), or a registry error class otherwise.
func (c *Client) VerifySignature(ctx context.Context, repo, digest string, rule SignatureRule) error {
	fail := func(err error) error { return fmt.Errorf("signature of %s@%s: %w", repo, digest, err) }
	h, err := c.hostOf(repo)
	if err != nil {
		return fail(err)
	}
	d, err := name.NewDigest(repo+"@"+digest, h.nameOpts...)
	if err != nil {
		return fail(err)
	}
	v, err := newSigVerifier(rule)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var bad []string
	legacy, err := c.legacySignatures(ctx, h, d)
	if err != nil {
		return fail(err)
	}
	for i, s := range legacy {
		if err := v.verifyLegacy(s, digest); err != nil {
			bad = append(bad, fmt.Sprintf("%s.sig layer %d: %v", strings.Replace(digest, ":", "-", 1), i, err))
			continue
		}
		return nil
	}
	bundles, err := c.bundles(ctx, h, d)
	if err != nil {
		return fail(err)
	}
	for _, b := range bundles {
		if err := v.verifyBundle(b.data, digest); err != nil {
			bad = append(bad, fmt.Sprintf("bundle %s: %v", b.digest, err))
			continue
		}
		return nil
	}
	if len(bad) == 0 {
		return fail(ErrUnsigned)
	}
	return fail(fmt.Errorf("%w under %s: %s", ErrBadSignature, rule, strings.Join(bad, "; ")))
}

// legacySig is one layer of a cosign v2 signature manifest.
type legacySig struct {
	payload []byte
	sig     []byte
}

// legacySignatures reads the sha256-<hex>.sig tag of d; none when the tag
// does not exist.
func (c *Client) legacySignatures(ctx context.Context, h *host, d name.Digest) ([]legacySig, error) {
	tag := d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
	img, err := remote.Image(tag, remote.Reuse(h.puller), remote.WithContext(ctx))
	if err != nil {
		if errors.Is(c.wrap("signature", tag.String(), h, err), ErrNotFound) {
			return nil, nil
		}
		return nil, c.wrap("signature", tag.String(), h, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, c.wrap("signature", tag.String(), h, err)
	}
	var out []legacySig
	for _, l := range m.Layers {
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[legacySigAnnotation])
		if err != nil || len(sig) == 0 {
			continue // not a signature layer
		}
		payload, err := c.blob(ctx, h, d.Context().Digest(l.Digest.String()), l.Size)
		if err != nil {
			return nil, err
		}
		out = append(out, legacySig{payload: payload, sig: sig})
	}
	return out, nil
}

// maxSignatureBlob bounds a signature payload or bundle hoist reads.
const maxSignatureBlob = 1 << 20

// blob reads one small blob of the repository.
func (c *Client) blob(ctx context.Context, h *host, d name.Digest, size int64) ([]byte, error) {
	if size > maxSignatureBlob {
		return nil, fmt.Errorf("signature blob %s is %d bytes, more than hoist reads (%d)", d.DigestStr(), size, maxSignatureBlob)
	}
	l, err := h.puller.Layer(ctx, d)
	if err != nil {
		return nil, c.wrap("signature", d.String(), h, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, c.wrap("signature", d.String(), h, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSignatureBlob+1))
	if err != nil {
		return nil, c.wrap("signature", d.String(), h, err)
	}
	return b, nil
}

// storedBundle is a Sigstore bundle read from a referrer.
type storedBundle struct {
	digest string // the referrer manifest's digest
	data   []byte
}

// bundles reads the Sigstore bundles attached to d as OCI referrers.
func (c *Client) bundles(ctx context.Context, h *host, d name.Digest) ([]storedBundle, error) {
	idx, err := remote.Referrers(d, remote.Reuse(h.puller), remote.WithContext(ctx),
		remote.WithFilter("artifactType", bundleArtifactType))
	if err != nil {
		if errors.Is(c.wrap("referrers", d.String(), h, err), ErrNotFound) {
			return nil, nil
		}
		return nil, c.wrap("referrers", d.String(), h, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, c.wrap("referrers", d.String(), h, err)
	}
	var out []storedBundle
	for _, desc := range im.Manifests {
		if desc.ArtifactType != bundleArtifactType {
			continue
		}
		ref := d.Context().Digest(desc.Digest.String())
		img, err := remote.Image(ref, remote.Reuse(h.puller), remote.WithContext(ctx))
		if err != nil {
			return nil, c.wrap("referrers", ref.String(), h, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, c.wrap("referrers", ref.String(), h, err)
		}
		for _, l := range m.Layers {
			if l.MediaType != types.MediaType(bundleArtifactType) && len(m.Layers) > 1 {
				continue
			}
			b, err := c.blob(ctx, h, d.Context().Digest(l.Digest.String()), l.Size)
			if err != nil {
				return nil, err
			}
			out = append(out, storedBundle{digest: desc.Digest.String(), data: b})
		}
	}
	return out, nil
}

// sigVerifier verifies signatures under one rule.
type sigVerifier struct {
	key      signature.Verifier // key rule
	sigstore *verify.Verifier
	policy   []verify.PolicyOption
}

// newSigVerifier reads the rule's key or trusted root.
func newSigVerifier(rule SignatureRule) (*sigVerifier, error) {
	if rule.Key != "" {
		pem, err := os.ReadFile(rule.Key)
		if err != nil {
			return nil, fmt.Errorf("read signature key: %w", err)
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
		if err != nil {
			return nil, fmt.Errorf("signature key %s: %w", rule.Key, err)
		}
		kv, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signature key %s: %w", rule.Key, err)
		}
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(kv, time.Time{}, time.Time{}), nil
		})
		// A key signature needs no timestamp: the key is trusted at any time,
		// as cosign verify --key does with an offline signature.
		sv, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			return nil, fmt.Errorf("signature key %s: %w", rule.Key, err)
		}
		return &sigVerifier{key: kv, sigstore: sv, policy: []verify.PolicyOption{verify.WithKey()}}, nil
	}
	tr, err := root.NewTrustedRootFromPath(rule.TrustedRootFile)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", rule.TrustedRootFile, err)
	}
	// A certificate must carry a signed certificate timestamp of a CT log
	// the root lists; a root that lists none (a private Sigstore without
	// certificate transparency) cannot ask for one.
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	sv, err := verify.NewVerifier(tr, opts...)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", rule.TrustedRootFile, err)
	}
	id, err := verify.NewShortCertificateIdentity(rule.Issuer, "", "", rule.Identity)
	if err != nil {
		return nil, fmt.Errorf("keyless identity: %w", err)
	}
	return &sigVerifier{sigstore: sv, policy: []verify.PolicyOption{verify.WithCertificateIdentity(id)}}, nil
}

// verifyBundle verifies a Sigstore bundle over the image digest.
func (v *sigVerifier) verifyBundle(data []byte, digest string) error {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	alg, hexDigest, _ := strings.Cut(digest, ":")
	raw, err := hex.DecodeString(hexDigest)
	if err != nil {
		return fmt.Errorf("digest %s: %w", digest, err)
	}
	_, err = v.sigstore.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest(alg, raw), v.policy...))
	return err
}

// simpleSigning is the part of a cosign simple-signing payload that binds
// the signature to an image.
type simpleSigning struct {
	Critical struct {
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// verifyLegacy verifies a cosign v2 signature: the key's signature over the
// payload, and the payload naming the image digest. Keyless legacy
// signatures (a certificate annotation and a Rekor bundle) are not
// verified: cosign v3 writes Sigstore bundles for those.
func (v *sigVerifier) verifyLegacy(s legacySig, digest string) error {
	if v.key == nil {
		return errors.New("a keyless rule verifies Sigstore bundles (cosign v3, or cosign v2 with --new-bundle-format), not legacy .sig signatures")
	}
	if err := v.key.VerifySignature(bytes.NewReader(s.sig), bytes.NewReader(s.payload)); err != nil {
		return fmt.Errorf("the signature does not verify with the key: %w", err)
	}
	var p simpleSigning
	if err := json.Unmarshal(s.payload, &p); err != nil {
		return fmt.Errorf("payload is not a simple-signing document: %w", err)
	}
	if p.Critical.Image.DockerManifestDigest != digest {
		return fmt.Errorf("the signature is for %s, not %s", p.Critical.Image.DockerManifestDigest, digest)
	}
	return nil
}
