package testregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OCI media types of the images written here.
const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Size      int       `json:"size"`
	Platform  *platform `json:"platform,omitempty"`
}

// platform is an OCI platform.
type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// layout is an OCI image layout directory being written.
type layout struct{ dir string }

// newLayout creates an empty OCI image layout in dir.
func newLayout(dir string) (*layout, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return nil, err
	}
	return &layout{dir: dir}, nil
}

// blob stores b and returns its descriptor.
func (l *layout) blob(mediaType string, b []byte) (descriptor, error) {
	sum := sha256.Sum256(b)
	hexSum := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(l.dir, "blobs", "sha256", hexSum), b, 0o644); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hexSum, Size: len(b)}, nil
}

// jsonBlob stores v as JSON.
func (l *layout) jsonBlob(mediaType string, v any) (descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	return l.blob(mediaType, b)
}

// randomImage writes a one-layer image for os/arch whose layer holds a
// random file, so every image (and its digest) is new.
func (l *layout) randomImage(osArch string) (descriptor, error) {
	goos, arch, ok := strings.Cut(osArch, "/")
	if !ok {
		return descriptor{}, fmt.Errorf("platform %q: want os/arch", osArch)
	}
	noise := make([]byte, 32)
	_, _ = rand.Read(noise)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte(hex.EncodeToString(noise) + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hoist-random", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return descriptor{}, err
	}
	if _, err := tw.Write(content); err != nil {
		return descriptor{}, err
	}
	if err := tw.Close(); err != nil {
		return descriptor{}, err
	}
	diffID := sha256.Sum256(tarBuf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return descriptor{}, err
	}
	if err := zw.Close(); err != nil {
		return descriptor{}, err
	}
	layer, err := l.blob(mediaLayer, gz.Bytes())
	if err != nil {
		return descriptor{}, err
	}
	config, err := l.jsonBlob(mediaConfig, map[string]any{
		"architecture": arch, "os": goos, "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffID[:])}},
	})
	if err != nil {
		return descriptor{}, err
	}
	m, err := l.jsonBlob(mediaManifest, map[string]any{
		"schemaVersion": 2, "mediaType": mediaManifest, "config": config, "layers": []descriptor{layer},
	})
	if err != nil {
		return descriptor{}, err
	}
	m.Platform = &platform{Architecture: arch, OS: goos}
	return m, nil
}

// writeIndex writes index.json listing the given manifests.
func (l *layout) writeIndex(manifests []descriptor) error {
	b, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaIndex, "manifests": manifests})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.dir, "index.json"), b, 0o644)
}
