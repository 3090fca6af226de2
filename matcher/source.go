package matcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-git/go-git/v5/utils/merkletrie"

	"github.com/hoist-gitops/hoist/internal/gitfetch"
	"github.com/hoist-gitops/hoist/internal/redact"
)

// source is the matcher's bare, shallow, in-memory copy of one repository
// branch. It has no worktree: files are read from the trees of the fetched
// head, and a new head is compared with the old one tree by tree, so only
// the files that changed are read again.
type source struct {
	repo Repo
	auth transport.AuthMethod
	st   *memory.Storage
	// updates counts the fetches that brought a new head into st.
	updates int
}

// file is one manifest file's path and content; Link marks a symbolic
// link with a manifest's name, which is reported and never followed, and
// Problem a tree entry that is not read at all (an unsafe path).
type file struct {
	Path    string
	Data    []byte
	Link    bool
	Problem string
}

func newSource(r Repo) (*source, error) {
	auth, err := repoAuth(r.URL, r.Auth)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", r.Name, err)
	}
	return &source{repo: r, auth: auth, st: memory.NewStorage()}, nil
}

// fetch brings the branch head into the store and returns it, giving up
// after the repository's git timeout. The first
// fetch is shallow (depth 1: the head's objects only); later ones ask for
// no depth, so the server sends only what the new commits add on top of
// the head the store has. (Asking for depth 1 again makes git's upload-pack
// send the head's whole tree every time: seconds on a 10,000-file
// repository instead of milliseconds.)
func (s *source) fetch(ctx context.Context) (plumbing.Hash, error) {
	before, _ := s.st.Reference(gitfetch.TrackingRef(s.repo.Branch))
	depth := 0
	if before == nil {
		depth = 1
	}
	ctx, cancel := context.WithTimeout(ctx, s.repo.gitTimeout())
	defer cancel()
	head, err := s.fetchWithin(ctx, depth)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within the git timeout (%s): %w", s.repo.gitTimeout(), err)
		}
		return plumbing.ZeroHash, fmt.Errorf("fetch %s %s: %w", redact.URL(s.repo.URL), s.repo.Branch, err)
	}
	if before == nil || before.Hash() != head {
		s.updates++
	}
	return head, nil
}

// fetchWithin runs one fetch until ctx ends. A fetch given up on when ctx
// ends may still write to the store it started with, so the source starts
// over with an empty one.
func (s *source) fetchWithin(ctx context.Context, depth int) (plumbing.Hash, error) {
	st := s.st
	var head plumbing.Hash
	err := gitfetch.Run(ctx, func(ctx context.Context) error {
		heads, err := gitfetch.Fetch(ctx, st, s.repo.URL, s.auth, []string{s.repo.Branch}, depth)
		head = heads[s.repo.Branch]
		return err
	})
	if ctx.Err() != nil {
		s.reset()
		return plumbing.ZeroHash, ctx.Err()
	}
	return head, err
}

// reset drops every object, so the next fetch is a fresh shallow clone.
func (s *source) reset() {
	s.st = memory.NewStorage()
	s.updates = 0
}

// has reports whether commit h and its tree are in the store, so a diff
// from it can be taken (after a reset they are not).
func (s *source) has(h plumbing.Hash) bool {
	_, err := s.tree(h)
	return err == nil
}

// exists reports whether path p ("." the root) names a file or folder at commit h.
func (s *source) exists(h plumbing.Hash, p string) bool {
	t, err := s.tree(h)
	if err != nil {
		return false
	}
	if p == "." {
		return true
	}
	_, err = t.FindEntry(p)
	return err == nil
}

// inScope reports whether a repository path is a manifest the matcher reads:
// a .yaml or .yml file under one of the configured folders, not excluded.
func (s *source) inScope(p string) bool {
	if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
		return false
	}
	return underPaths(p, s.repo.Paths) && !Excluded(p, s.repo.Exclude)
}

// underPaths reports whether p lies in one of the folders ("." is every path).
func underPaths(p string, folders []string) bool {
	if len(folders) == 0 {
		return true
	}
	for _, f := range folders {
		f = strings.Trim(path.Clean(f), "/")
		if f == "." || f == "" || p == f || strings.HasPrefix(p, f+"/") {
			return true
		}
	}
	return false
}

// snapshot reads every manifest file at commit h. A tree entry whose name
// is not a safe path (.., .git, a slash...) is returned as a problem of
// that path and not read, so one crafted entry does not hide the rest.
func (s *source) snapshot(h plumbing.Hash) ([]file, error) {
	var out []file
	err := s.eachFile(h, func(f file) { out = append(out, f) })
	return out, err
}

// eachFile is snapshot handing each file to fn as soon as it is read, so
// parsing can start before the whole tree is read.
func (s *source) eachFile(h plumbing.Hash, fn func(file)) error {
	tree, err := s.tree(h)
	if err != nil {
		return err
	}
	err = s.walk(tree, "", 0, func(p string, e object.TreeEntry, bad string) error {
		switch {
		case bad != "":
			if underPaths(p, s.repo.Paths) {
				fn(file{Path: p, Problem: "not read: " + bad})
			}
		case !e.Mode.IsFile() || !s.inScope(p):
		case e.Mode == filemode.Symlink:
			fn(file{Path: p, Link: true})
		default:
			data, err := s.blob(e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			fn(file{Path: p, Data: data})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read tree of %s: %w", h, err)
	}
	return nil
}

// maxTreeDepth bounds the folders walked into, against a tree that (by a
// hash collision or bad data) contains itself.
const maxTreeDepth = 1024

// walk calls fn for every entry under t that is not a folder, with its
// repository path. An entry whose name is not a safe path element is
// passed with bad saying why, and a folder so named is not entered.
func (s *source) walk(t *object.Tree, base string, depth int, fn func(p string, e object.TreeEntry, bad string) error) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("%s: folders nested deeper than %d", base, maxTreeDepth)
	}
	for _, e := range t.Entries {
		p := e.Name
		if base != "" {
			p = base + "/" + e.Name
		}
		if why := badName(e.Name); why != "" {
			if err := fn(p, e, why); err != nil {
				return err
			}
			continue
		}
		switch e.Mode {
		case filemode.Dir:
			sub, err := object.GetTree(s.st, e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if err := s.walk(sub, p, depth+1, fn); err != nil {
				return err
			}
		case filemode.Submodule:
		default:
			if err := fn(p, e, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// badName says why a tree entry's name cannot be a path element of a
// checked-out repository ("" when it can): empty, "." or "..", holding a
// slash, a backslash or a control character, or naming git's own folder.
func badName(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Sprintf("invalid path element %q", name)
	case strings.ContainsAny(name, "/\\"):
		return fmt.Sprintf("path element %q holds a slash", name)
	case strings.EqualFold(strings.TrimRight(name, ". "), ".git"):
		return fmt.Sprintf("path element %q is git's own folder", name)
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f {
			return fmt.Sprintf("path element %q holds a control character", name)
		}
	}
	return ""
}

// errUnsafeTree is a diff touching a path that is not safe.
var errUnsafeTree = errors.New("tree holds an unsafe path")

// badPath is badName for each element of a slash-separated path.
func badPath(p string) string {
	for _, el := range strings.Split(p, "/") {
		if why := badName(el); why != "" {
			return why
		}
	}
	return ""
}

// changes lists the manifest files that differ between commits old and
// new: those added or modified (with their new content) and those removed
// (including those that stopped being regular files). Subtrees with equal
// hashes are skipped without being read.
func (s *source) changes(ctx context.Context, old, new plumbing.Hash) (changed []file, removed []string, err error) {
	ot, err := s.tree(old)
	if err != nil {
		return nil, nil, err
	}
	nt, err := s.tree(new)
	if err != nil {
		return nil, nil, err
	}
	chs, err := object.DiffTreeWithOptions(ctx, ot, nt, &object.DiffTreeOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("diff %s..%s: %w", old, new, err)
	}
	for _, ch := range chs {
		action, err := ch.Action()
		if err != nil {
			return nil, nil, err
		}
		// Unsafe paths are reported per entry by snapshot; a diff only
		// sees the files under them, so the caller reads the tree whole.
		for _, p := range []string{ch.From.Name, ch.To.Name} {
			if why := badPath(p); p != "" && why != "" {
				return nil, nil, fmt.Errorf("%w: %s", errUnsafeTree, why)
			}
		}
		if action != merkletrie.Insert && s.inScope(ch.From.Name) {
			if action == merkletrie.Delete || ch.From.Name != ch.To.Name {
				removed = append(removed, ch.From.Name)
			}
		}
		if action == merkletrie.Delete || !s.inScope(ch.To.Name) {
			continue
		}
		switch m := ch.To.TreeEntry.Mode; {
		case m == filemode.Symlink:
			changed = append(changed, file{Path: ch.To.Name, Link: true})
			continue
		case !m.IsFile():
			removed = append(removed, ch.To.Name)
			continue
		}
		data, err := s.blob(ch.To.TreeEntry.Hash)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", ch.To.Name, err)
		}
		changed = append(changed, file{Path: ch.To.Name, Data: data})
	}
	return changed, removed, nil
}

func (s *source) tree(h plumbing.Hash) (*object.Tree, error) {
	c, err := object.GetCommit(s.st, h)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", h, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", h, err)
	}
	return t, nil
}

func (s *source) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s.st, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
