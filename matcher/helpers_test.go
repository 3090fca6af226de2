package matcher

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoist-gitops/hoist/internal/testgit"
)

// flakyProxy forwards to a git server, answering 502 to the next Fail
// requests first.
type flakyProxy struct {
	URL  string
	Fail atomic.Int64
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &flakyProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Fail.Add(-1) >= 0 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// treeNode is a tree crafted with git plumbing: a name maps to a blob's
// content (string) or a subtree (treeNode). Names are written as given,
// unsafe ones included.
type treeNode map[string]any

// craftCommit writes tree as a commit on branch of the bare repository r
// and returns its hash. Trees are written with `git hash-object --literally`,
// which checks no names, so any name can be crafted ("..", ".git", "/abs").
func craftCommit(t *testing.T, r *testgit.Repo, branch string, tree treeNode) string {
	t.Helper()
	top := writeTree(t, r.Dir, tree)
	args := []string{"commit-tree", top, "-m", "crafted"}
	if parent, err := testgit.Run(r.Dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		args = append(args, "-p", strings.TrimSpace(parent))
	}
	c := strings.TrimSpace(testgit.Git(t, r.Dir, args...))
	testgit.Git(t, r.Dir, "update-ref", "refs/heads/"+branch, c)
	return c
}

// writeTree writes one tree object, its entries in git's order (a folder
// sorts as if its name ended in "/").
func writeTree(t *testing.T, dir string, tree treeNode) string {
	t.Helper()
	type entry struct{ mode, name, key, hash string }
	var entries []entry
	for n, v := range tree {
		switch v := v.(type) {
		case string:
			entries = append(entries, entry{"100644", n, n, gitStdin(t, dir, v, "hash-object", "-w", "--stdin")})
		case treeNode:
			entries = append(entries, entry{"40000", n, n + "/", writeTree(t, dir, v)})
		default:
			t.Fatalf("tree entry %s: %T", n, v)
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	var b strings.Builder
	for _, e := range entries {
		raw, err := hex.DecodeString(e.hash)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\x00%s", e.mode, e.name, raw)
	}
	return gitStdin(t, dir, b.String(), "hash-object", "-t", "tree", "-w", "--literally", "--stdin")
}

func gitStdin(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	c := testgit.Command(dir, args...)
	c.Stdin = strings.NewReader(stdin)
	out, err := testgit.RunCmd(c)
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(out)
}
