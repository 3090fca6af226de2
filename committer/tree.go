package committer

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// PathError says why a file cannot be edited: the path is unsafe, missing,
// or not a regular file at the head. Its rewrites are dropped with it as reason.
type PathError struct {
	Path   string
	Reason string
}

// Error implements error.
func (e *PathError) Error() string { return e.Path + ": " + e.Reason }

// splitPath validates a repository-relative, slash-separated path and
// returns its components. It refuses anything that could leave the
// repository or reach git's own files.
func splitPath(p string) ([]string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return nil, &PathError{p, "not a repository-relative path"}
	}
	parts := strings.Split(p, "/")
	for _, c := range parts {
		switch {
		case c == "" || c == "." || c == "..":
			return nil, &PathError{p, "path escapes the repository or is not clean"}
		case strings.EqualFold(strings.TrimRight(c, ". "), ".git"):
			return nil, &PathError{p, "path inside .git"}
		}
	}
	return parts, nil
}

// snapshot reads files of one commit's tree, decoding each tree on the
// paths once.
type snapshot struct {
	s storer.EncodedObjectStorer
	// commit is the commit whose tree root is, when made by snapshotAt.
	commit plumbing.Hash
	root   plumbing.Hash
	trees  map[plumbing.Hash]*indexedTree
}

// indexedTree is a decoded tree with its entries by name.
type indexedTree struct {
	entries []object.TreeEntry
	byName  map[string]int
}

func newSnapshot(s storer.EncodedObjectStorer, root plumbing.Hash) *snapshot {
	return &snapshot{s: s, root: root, trees: map[plumbing.Hash]*indexedTree{}}
}

// snapshotAt reads the tree of commit.
func snapshotAt(s storer.EncodedObjectStorer, commit plumbing.Hash) (*snapshot, error) {
	c, err := object.GetCommit(s, commit)
	if err != nil {
		return nil, fmt.Errorf("%w: read commit %s: %v", errObjectMissing, commit, err)
	}
	sn := newSnapshot(s, c.TreeHash)
	sn.commit = commit
	return sn, nil
}

func (sn *snapshot) tree(h plumbing.Hash) (*indexedTree, error) {
	if t, ok := sn.trees[h]; ok {
		return t, nil
	}
	t, err := object.GetTree(sn.s, h)
	if err != nil {
		return nil, fmt.Errorf("%w: read tree %s: %v", errObjectMissing, h, err)
	}
	it := &indexedTree{entries: t.Entries, byName: make(map[string]int, len(t.Entries))}
	for i, e := range t.Entries {
		it.byName[e.Name] = i
	}
	sn.trees[h] = it
	return it, nil
}

// fileEntry returns the blob and mode of the regular file at path, with
// the checks of readFile, without reading the blob.
func (sn *snapshot) fileEntry(path string) (plumbing.Hash, filemode.FileMode, error) {
	parts, err := splitPath(path)
	if err != nil {
		return plumbing.ZeroHash, 0, err
	}
	tree := sn.root
	for i, name := range parts {
		t, err := sn.tree(tree)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		j, ok := t.byName[name]
		if !ok {
			return plumbing.ZeroHash, 0, &PathError{path, "file not found at the head"}
		}
		e := t.entries[j]
		last := i == len(parts)-1
		switch {
		case e.Mode == filemode.Symlink:
			return plumbing.ZeroHash, 0, &PathError{path, "path is or goes through a symlink"}
		case e.Mode == filemode.Submodule:
			return plumbing.ZeroHash, 0, &PathError{path, "path is or goes through a submodule"}
		case !last && e.Mode != filemode.Dir:
			return plumbing.ZeroHash, 0, &PathError{path, "a parent of the path is not a folder"}
		case last && !regular(e.Mode):
			return plumbing.ZeroHash, 0, &PathError{path, "not a regular file"}
		}
		if !last {
			tree = e.Hash
			continue
		}
		return e.Hash, e.Mode, nil
	}
	return plumbing.ZeroHash, 0, &PathError{path, "file not found at the head"}
}

// regular is true for the modes of ordinary files.
func regular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	o, err := s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("%w: read blob %s: %v", errObjectMissing, h, err)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("%w: read blob %s: %v", errObjectMissing, h, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: read blob %s: %v", errObjectMissing, h, err)
	}
	return data, nil
}

// treeWriter replaces file contents in a tree, writing the new blobs and
// only the trees on the changed paths; every other object is shared with the
// base tree. Written lists the new objects (what a push must send).
type treeWriter struct {
	s       storer.EncodedObjectStorer
	sn      *snapshot
	Written []plumbing.Hash
}

func newTreeWriter(sn *snapshot) *treeWriter { return &treeWriter{s: sn.s, sn: sn} }

// pathNode is one folder (children) or file (data) of the change set.
type pathNode struct {
	children map[string]*pathNode
	data     []byte
	file     bool
}

// writeTree returns the tree root with each path of files (which must be
// existing regular files) holding its new content.
func (w *treeWriter) writeTree(root plumbing.Hash, files map[string][]byte) (plumbing.Hash, error) {
	top := &pathNode{children: map[string]*pathNode{}}
	for p, data := range files {
		parts, err := splitPath(p)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		n := top
		for i, c := range parts {
			child := n.children[c]
			if child == nil {
				child = &pathNode{children: map[string]*pathNode{}}
				n.children[c] = child
			}
			if i == len(parts)-1 {
				child.file, child.data = true, data
			}
			n = child
		}
	}
	return w.rewrite(root, top, "")
}

func (w *treeWriter) rewrite(h plumbing.Hash, n *pathNode, dir string) (plumbing.Hash, error) {
	t, err := w.sn.tree(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	entries := append([]object.TreeEntry(nil), t.entries...)
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	changed := false
	for _, name := range names {
		child := n.children[name]
		p := strings.TrimPrefix(dir+"/"+name, "/")
		i, ok := t.byName[name]
		if !ok {
			return plumbing.ZeroHash, &PathError{p, "file not found at the head"}
		}
		e := &entries[i]
		switch {
		case child.file && len(child.children) > 0:
			return plumbing.ZeroHash, &PathError{p, "path is both a file and a folder"}
		case child.file:
			if !regular(e.Mode) {
				return plumbing.ZeroHash, &PathError{p, "not a regular file"}
			}
			bh, err := w.writeObject(plumbing.BlobObject, child.data)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if bh != e.Hash {
				e.Hash, changed = bh, true
			}
		default:
			if e.Mode != filemode.Dir {
				return plumbing.ZeroHash, &PathError{p, "a parent of the path is not a folder"}
			}
			th, err := w.rewrite(e.Hash, child, p)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if th != e.Hash {
				e.Hash, changed = th, true
			}
		}
	}
	if !changed {
		return h, nil
	}
	nt := &object.Tree{Entries: entries}
	obj := w.s.NewEncodedObject()
	if err := nt.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode tree %s: %w", dir+"/", err)
	}
	return w.store(obj)
}

// writeObject stores data as a new object of type t unless the store has it.
func (w *treeWriter) writeObject(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(t, data)
	if w.s.HasEncodedObject(h) == nil {
		return h, nil
	}
	obj := w.s.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := wr.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.store(obj)
}

func (w *treeWriter) store(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := w.s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("store object: %w", err)
	}
	w.Written = append(w.Written, h)
	return h, nil
}

// errObjectMissing marks a local clone that cannot give an object it
// should have (missing, or its files damaged); the clone is rebuilt.
var errObjectMissing = errors.New("object missing from the local clone")
