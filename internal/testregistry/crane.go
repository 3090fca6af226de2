package testregistry

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Ref is the reference of repo:tag (or repo@digest, when tag starts with
// "sha256:") on this registry.
func (r *Registry) Ref(repo, tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return r.Host + "/" + repo + "@" + tag
	}
	return r.Host + "/" + repo + ":" + tag
}

// Crane runs crane against the registry (plain HTTP, no credentials from
// the user's config) and returns its trimmed standard output.
func (r *Registry) Crane(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(r.crane, append(args, "--insecure")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "DOCKER_CONFIG=" + filepath.Join(r.dir, "docker")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("crane %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// PushImage pushes a new random linux/amd64 image as repo:tag and returns
// its manifest digest.
func (r *Registry) PushImage(t testing.TB, repo, tag string) string {
	t.Helper()
	l, err := newLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.randomImage("linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.writeIndex([]descriptor{m}); err != nil {
		t.Fatal(err)
	}
	r.push(t, l.dir, r.Ref(repo, tag), m.Digest, false)
	return m.Digest
}

// PushIndex pushes a multi-arch index of new random images, one per
// platform ("linux/amd64"...), as repo:tag: the children go in untagged,
// then the tagged index. It returns the index digest and the children's.
func (r *Registry) PushIndex(t testing.TB, repo, tag string, platforms ...string) (index string, children []string) {
	t.Helper()
	l, err := newLayout(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var ms []descriptor
	for _, p := range platforms {
		m, err := l.randomImage(p)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
		children = append(children, m.Digest)
	}
	if err := l.writeIndex(ms); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := l.blob(mediaIndex, b)
	if err != nil {
		t.Fatal(err)
	}
	r.push(t, l.dir, r.Ref(repo, tag), idx.Digest, true)
	return idx.Digest, children
}

// push runs crane push and checks the digest it reports.
func (r *Registry) push(t testing.TB, dir, ref, digest string, index bool) {
	t.Helper()
	args := []string{"push", dir, ref}
	if index {
		args = append(args, "--index")
	}
	out := r.Crane(t, args...)
	if !strings.HasSuffix(out, "@"+digest) {
		t.Fatalf("crane push %s printed %q, want a reference ending in @%s", ref, out, digest)
	}
}

// Tag adds tag newTag to repo:tag (crane tag).
func (r *Registry) Tag(t testing.TB, repo, tag, newTag string) {
	t.Helper()
	r.Crane(t, "tag", r.Ref(repo, tag), newTag)
}

// Delete deletes repo@digest (or repo:tag) from the registry (crane delete).
func (r *Registry) Delete(t testing.TB, repo, digestOrTag string) {
	t.Helper()
	r.Crane(t, "delete", r.Ref(repo, digestOrTag))
}

// Digest returns the digest repo:tag points to (crane digest).
func (r *Registry) Digest(t testing.TB, repo, tag string) string {
	t.Helper()
	return r.Crane(t, "digest", r.Ref(repo, tag))
}
