package testgit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Repo is a bare repository tests push to and inspect.
type Repo struct {
	// Name is the repository's name on its server ("" for a local one).
	Name string
	// Dir is the bare repository's folder.
	Dir string
	// URL is what hoist is configured with (no credentials in it).
	URL string
	// CloneURL is what the git binary clones from (credentials included).
	CloneURL string
}

// NewLocalRepo creates an empty bare repository in a temporary folder,
// addressed by a file:// URL.
func NewLocalRepo(t testing.TB) *Repo {
	t.Helper()
	r := initBare(t, filepath.Join(t.TempDir(), "local.git"))
	r.URL = "file://" + r.Dir
	r.CloneURL = r.URL
	return r
}

// initBare creates a bare repository whose default branch is main, that
// accepts pushes over HTTP, refuses non-fast-forward updates, checks every
// object it receives, and logs every ref update.
func initBare(t testing.TB, dir string) *Repo {
	t.Helper()
	skipShort(t)
	Git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	for _, kv := range [][2]string{
		{"http.receivepack", "true"},
		{"receive.denyNonFastForwards", "true"},
		{"receive.denyDeletes", "true"},
		{"receive.fsckObjects", "true"},
		{"core.logAllRefUpdates", "always"},
	} {
		Git(t, dir, "config", kv[0], kv[1])
	}
	return &Repo{Dir: dir}
}

// SeedDir commits the contents of folder src (symlinks included, as
// symlinks) as one commit on branch, on top of the branch's head if it has
// one, and returns the commit's hash.
func (r *Repo) SeedDir(t testing.TB, branch, src string) string {
	t.Helper()
	index := filepath.Join(t.TempDir(), "index")
	cmd := func(args ...string) string {
		c := Command(src, append([]string{"--git-dir=" + r.Dir, "--work-tree=" + src}, args...)...)
		c.Env = append(c.Env, "GIT_INDEX_FILE="+index)
		out, err := RunCmd(c)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	cmd("add", "--all", "--force", ".")
	tree := cmd("write-tree")
	args := []string{"commit-tree", tree, "-m", "Seed " + filepath.Base(src)}
	if parent, ok := r.ref(branch); ok {
		args = append(args, "-p", parent)
	}
	commit := cmd(args...)
	cmd("update-ref", "refs/heads/"+branch, commit)
	return commit
}

// SeedFiles writes files (path → content) into a temporary folder and
// commits them with SeedDir.
func (r *Repo) SeedFiles(t testing.TB, branch string, files map[string]string) string {
	t.Helper()
	src := t.TempDir()
	WriteFiles(t, src, files)
	return r.SeedDir(t, branch, src)
}

// WriteFiles writes files (slash-separated path → content) under dir,
// making their folders; a content "-> target" is a symbolic link to
// target instead.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Import writes one commit on branch with the files gen adds, through
// `git fast-import`, which makes a repository of 100,000 files in seconds.
// The commit's tree holds exactly the added files.
func (r *Repo) Import(t testing.TB, branch string, gen func(add func(path string, data []byte))) string {
	t.Helper()
	c := Command(r.Dir, "fast-import", "--quiet", "--force")
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	fmt.Fprintf(w, "commit refs/heads/%s\ncommitter %s <%s> 1700000000 +0000\ndata 6\nImport\n", branch, IdentityName, IdentityEmail)
	if parent, ok := r.ref(branch); ok {
		fmt.Fprintf(w, "from %s\n", parent)
	}
	w.WriteString("deleteall\n")
	gen(func(path string, data []byte) {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path, len(data))
		w.Write(data)
		w.WriteString("\n")
	})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("fast-import: %v: %s", err, stderr.String())
	}
	return r.Head(t, branch)
}

// ref is the commit branch points at, if the branch exists.
func (r *Repo) ref(branch string) (string, bool) {
	out, err := Run(r.Dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(out), true
}

// Head is the commit branch points at; the test fails when there is none.
func (r *Repo) Head(t testing.TB, branch string) string {
	t.Helper()
	h, ok := r.ref(branch)
	if !ok {
		t.Fatalf("branch %s does not exist in %s", branch, r.Dir)
	}
	return h
}

// Clone makes a working copy of branch in a temporary folder and returns
// its path; its origin is CloneURL.
func (r *Repo) Clone(t testing.TB, branch string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	Git(t, "", "clone", "--quiet", "--branch", branch, r.CloneURL, dir)
	return dir
}

// Show is the content of path at rev.
func (r *Repo) Show(t testing.TB, rev, path string) string {
	t.Helper()
	return Git(t, r.Dir, "show", rev+":"+path)
}

// Fsck runs `git fsck --strict` on the repository and fails the test on
// any complaint.
func (r *Repo) Fsck(t testing.TB) {
	t.Helper()
	out := Git(t, r.Dir, "fsck", "--strict", "--no-progress", "--no-dangling")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("git fsck --strict: %s", out)
	}
}

// History describes the commits reachable from a branch.
type History struct {
	// Commits lists hashes, newest first.
	Commits []string
	// Merges lists the commits with more than one parent.
	Merges []string
	// Subjects maps each commit to its subject line.
	Subjects map[string]string
}

// Log reads the history of branch.
func (r *Repo) Log(t testing.TB, branch string) History {
	t.Helper()
	h := History{Subjects: map[string]string{}}
	for _, line := range Lines(Git(t, r.Dir, "log", "--format=%H %P%x00%s", "refs/heads/"+branch)) {
		hashes, subject, _ := strings.Cut(line, "\x00")
		f := strings.Fields(hashes)
		h.Commits = append(h.Commits, f[0])
		h.Subjects[f[0]] = subject
		if len(f) > 2 {
			h.Merges = append(h.Merges, f[0])
		}
	}
	return h
}

// ReflogFastForwardOnly fails the test unless every update of branch
// recorded in the server's reflog moved it forward (the old head is an
// ancestor of the new one): nobody force-pushed.
func (r *Repo) ReflogFastForwardOnly(t testing.TB, branch string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.Dir, "logs", "refs", "heads", filepath.FromSlash(branch)))
	if err != nil {
		t.Fatalf("reflog of %s: %v", branch, err)
	}
	for _, line := range Lines(string(raw)) {
		f := strings.Fields(line)
		if len(f) < 2 || strings.Trim(f[0], "0") == "" {
			continue
		}
		if _, err := Run(r.Dir, "merge-base", "--is-ancestor", f[0], f[1]); err != nil {
			t.Fatalf("branch %s moved from %s to %s, not a fast-forward", branch, f[0], f[1])
		}
	}
}

// Tree lists the paths of the files at rev, sorted.
func (r *Repo) Tree(t testing.TB, rev string) []string {
	t.Helper()
	paths := Lines(Git(t, r.Dir, "ls-tree", "-r", "--name-only", rev))
	sort.Strings(paths)
	return paths
}
