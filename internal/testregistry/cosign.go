package testregistry

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testenv"
)

// CosignKey is a cosign key pair made by the real cosign CLI.
type CosignKey struct {
	// Pub is the PEM public key file, as an images[] signature rule names it.
	Pub string
	key string
	dir string
	bin string
}

// cosignPassword protects the test keys; cosign reads it from COSIGN_PASSWORD.
const cosignPassword = "test-key-password"

// NewCosignKey runs `cosign generate-key-pair` in a temporary folder.
func NewCosignKey(t testing.TB) *CosignKey {
	t.Helper()
	k := &CosignKey{dir: t.TempDir(), bin: testenv.Tool(t, "cosign")}
	k.run(t, "generate-key-pair")
	k.Pub, k.key = filepath.Join(k.dir, "cosign.pub"), filepath.Join(k.dir, "cosign.key")
	return k
}

// Sign signs repo@digest of the registry with the key, offline (no
// transparency log, no signing config from the internet), over plain HTTP:
// legacy writes a cosign v2 signature under the sha256-<hex>.sig tag,
// otherwise cosign v3 attaches a Sigstore bundle as an OCI referrer.
func (r *Registry) Sign(t testing.TB, k *CosignKey, repo, digest string, legacy bool) {
	t.Helper()
	args := []string{"sign", "--key", k.key, "--tlog-upload=false", "--use-signing-config=false",
		"--allow-http-registry", "--allow-insecure-registry", "-y"}
	if legacy {
		args = append(args, "--new-bundle-format=false")
	}
	k.run(t, append(args, r.Host+"/"+repo+"@"+digest)...)
}

func (k *CosignKey) run(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(k.bin, args...)
	cmd.Dir = k.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + k.dir, "DOCKER_CONFIG=" + filepath.Join(k.dir, "docker"),
		"COSIGN_PASSWORD=" + cosignPassword, "TUF_ROOT=" + filepath.Join(k.dir, "tuf")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}
