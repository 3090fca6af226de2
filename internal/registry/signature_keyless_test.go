package registry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/proto"

	"github.com/hoist-gitops/hoist/internal/testregistry"
)

// A keyless Sigstore bundle, made by sigstore-go's own test Sigstore (a
// Fulcio, a Rekor, a CT log and a TSA in memory: no internet) and attached
// as a referrer, verifies under its issuer and an identity regexp, against
// a trusted root file; another identity is a bad signature.
func TestVerifySignatureKeyless(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	// The test Fulcio embeds no signed certificate timestamps: its root
	// lists no CT log, so none is asked for.
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), rawLogIDs(t, vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(rootFile, trJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	const issuer, identity = "https://token.example.com", "https://ci.example.com/team/app/release@refs/tags/v1"
	digest := reg.PushImage(t, "team/app", "1.0.0")
	repo := reg.Host + "/team/app"
	attachBundle(t, repo, digest, keylessBundle(t, vs, issuer, identity, repo, digest))

	c, err := New(nil, WithKeychain(authn.NewMultiKeychain()), WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	good := SignatureRule{Issuer: issuer, Identity: `^https://ci\.example\.com/team/app/`, TrustedRootFile: rootFile}
	if err := c.VerifySignature(context.Background(), repo, digest, good); err != nil {
		t.Fatalf("keyless bundle: %v", err)
	}
	other := good
	other.Identity = `^https://ci\.example\.com/team/other/`
	if err := c.VerifySignature(context.Background(), repo, digest, other); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another identity: %v, want %v", err, ErrBadSignature)
	}
}

// rawLogIDs undoes a quirk of the test Sigstore: its logs' IDs are the hex
// text of the key ID, which a trusted root file would hex-encode again.
func rawLogIDs(t *testing.T, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	out := map[string]*root.TransparencyLog{}
	for k, l := range logs {
		c := *l
		id, err := hex.DecodeString(string(l.ID))
		if err != nil {
			t.Fatalf("log ID %q: %v", l.ID, err)
		}
		c.ID = id
		out[k] = &c
	}
	return out
}

// keylessBundle signs an in-toto statement about repo@digest, as cosign v3
// does, and returns it as a Sigstore bundle (JSON).
func keylessBundle(t *testing.T, vs *ca.VirtualSigstore, issuer, identity, repo, digest string) []byte {
	t.Helper()
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": repo, "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicateType": "https://sigstore.dev/cosign/sign/v1",
		"predicate":     map[string]any{},
	})
	// As vs.Attest, with an inclusion proof: a v0.3 bundle requires one.
	e, err := vs.AttestAtTime(identity, issuer, stmt, time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := env.DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := e.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	var tlogs []*protorekor.TransparencyLogEntry
	entries, _ := e.TlogEntries()
	for _, en := range entries {
		tle := proto.Clone(en.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
		tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"} // the test Rekor's entry kind
		tlogs = append(tlogs, tle)
	}
	var tss []*protocommon.RFC3161SignedTimestamp
	stamps, _ := e.Timestamps()
	for _, ts := range stamps {
		tss = append(tss, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               tlogs,
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: tss},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sig.Signature()}},
		}},
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// attachBundle pushes bundle as an OCI referrer of repo@digest (go-
// containerregistry keeps the referrers tag for a registry without the
// referrers API).
func attachBundle(t *testing.T, repo, digest string, data []byte) {
	t.Helper()
	subject, err := name.NewDigest(repo+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	// No artifactType field in go-containerregistry: the config media type
	// is the artifact type then, as the OCI spec says.
	img = mutate.ConfigMediaType(img, bundleArtifactType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(data, bundleArtifactType)})
	if err != nil {
		t.Fatal(err)
	}
	withSubject, ok := mutate.Subject(img, v1.Descriptor{MediaType: desc.MediaType, Size: desc.Size, Digest: desc.Digest}).(v1.Image)
	if !ok {
		t.Fatal("mutate.Subject of an image is not an image")
	}
	d, err := withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(subject.Context().Digest(d.String()), withSubject); err != nil {
		t.Fatal(err)
	}
}
