package matcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-git/go-git/v5/utils/merkletrie"
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
// link with a manifest's name, which is reported and never followed.
type file struct {
	Path string
	Data []byte
	Link bool
}

func newSource(r Repo) (*source, error) {
	auth, err := repoAuth(r.URL, r.Auth)
	if err != nil {
		return nil, fmt.Errorf("repository %s: %w", r.Name, err)
	}
	return &source{repo: r, auth: auth, st: memory.NewStorage()}, nil
}

// trackingRef is where the fetched head of the branch is kept.
func (s *source) trackingRef() plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/remotes/origin/" + s.repo.Branch)
}

// fetch brings the branch head into the store and returns it. The first
// fetch is shallow (depth 1: the head's objects only); later ones ask for
// no depth, so the server sends only what the new commits add on top of
// the head the store has. (Asking for depth 1 again makes git's upload-pack
// send the head's whole tree every time: seconds on a 10,000-file
// repository instead of milliseconds.)
func (s *source) fetch(ctx context.Context) (plumbing.Hash, error) {
	before, _ := s.st.Reference(s.trackingRef())
	depth := 0
	if before == nil {
		depth = 1
	}
	rem := git.NewRemote(s.st, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{s.repo.URL}})
	err := rem.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec("+refs/heads/" + s.repo.Branch + ":" + s.trackingRef().String())},
		Depth:      depth,
		Auth:       s.auth,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s %s: %w", redactURL(s.repo.URL), s.repo.Branch, err)
	}
	ref, err := s.st.Reference(s.trackingRef())
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s: branch %s not found: %w", redactURL(s.repo.URL), s.repo.Branch, err)
	}
	if before == nil || before.Hash() != ref.Hash() {
		s.updates++
	}
	return ref.Hash(), nil
}

// reset drops every object, so the next fetch is a fresh shallow clone.
func (s *source) reset() {
	s.st = memory.NewStorage()
	s.updates = 0
}

// inScope reports whether a repository path is a manifest the matcher reads:
// a .yaml or .yml file under one of the configured folders.
func (s *source) inScope(p string) bool {
	if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
		return false
	}
	return underPaths(p, s.repo.Paths)
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

// snapshot reads every manifest file at commit h.
func (s *source) snapshot(h plumbing.Hash) ([]file, error) {
	tree, err := s.tree(h)
	if err != nil {
		return nil, err
	}
	var out []file
	err = tree.Files().ForEach(func(f *object.File) error {
		if !f.Mode.IsFile() || !s.inScope(f.Name) {
			return nil
		}
		if f.Mode == filemode.Symlink {
			out = append(out, file{Path: f.Name, Link: true})
			return nil
		}
		data, err := s.blob(f.Hash)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, file{Path: f.Name, Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", h, err)
	}
	return out, nil
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

// redactURL hides a password written into a URL.
func redactURL(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		rest := url[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return url[:i+3+c] + ":***" + rest[at:]
			}
		}
	}
	return url
}
